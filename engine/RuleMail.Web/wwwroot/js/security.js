// The seed's incoming icons: lock / encryption-error, signed / not-signed (or the plain one when neither), each titled
// with the seed's hover text and then the result's own comment. The inbox and the rules' dry run show them alike.

import { h, icon } from './dom.js';

/** The seed's incoming status texts, spelled as the CLI spells them (RuleMail.Cli/Output/SecurityText.cs). */
export const texts = {
  encrypted: 'This message was encrypted for you.',
  notDecrypted: 'This message can not be decrypted.',
  verified: 'This message’s signature has been successfully verified.',
  notVerified: 'The verification of the signature of this message has failed.',
  plain: 'This message is neither signed nor encrypted.',
};

/** The seed's icons for a stored security result: each titled with its hover text, then the result's own comment. */
export function securityIcons(security) {
  if (!security) return [h('span', { class: 'muted' }, 'not analysed')];
  const icons = [];
  const { encryption, sign } = security;
  if (encryption) {
    icons.push(statusIcon(encryption.success ? 'lock' : 'encryption-error',
      encryption.success ? texts.encrypted : texts.notDecrypted, `Encryption: ${encryption.comment}`));
  }
  if (sign) {
    icons.push(statusIcon(sign.success ? 'signed' : 'not-signed',
      sign.success ? texts.verified : texts.notVerified, `Sign: ${sign.comment}`));
  }
  if (icons.length === 0) icons.push(statusIcon('unsigned', texts.plain));
  return icons;
}

function statusIcon(name, text, comment) {
  const title = comment ? `${text}\n${comment}` : text;
  const image = icon(name, title);
  image.title = title;
  return image;
}
