namespace RuleMail.Crypto;

/// <summary>What opening an OpenPGP message gave: the decryption outcome, the plaintext when (and only when) its integrity held, and the outcome of a signature inside it.</summary>
internal sealed record PgpDecryption(SecurityOutcome Encryption, byte[]? Plaintext, SecurityOutcome? Signature);
