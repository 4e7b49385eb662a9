using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;
using RuleMail.Keys;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// Locked private keys, or keys the passphrase does not open, are an operational error, never a verdict on a
/// message: decrypting with them throws <see cref="KeyStoreException"/> (front ends stop with exit 3, the host retries
/// the message later) instead of judging mail "cannot be decrypted" that can be.
/// </summary>
public sealed class LockedKeyTests(SmimeMail smime, PgpMail gpg) : IClassFixture<SmimeMail>, IClassFixture<PgpMail>
{
    public static TheoryData<string, string?> Cases => new()
    {
        { "smime", null },
        { "smime", "not the store passphrase" },
        { "pgp", null },
        { "pgp", "not the store passphrase" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Encrypted_mail_with_locked_or_wrongly_unlocked_keys_is_an_error_not_a_verdict(string kind, string? passphrase)
    {
        using var store = MailboxStore.With([.. smime.WithPrivateKey(SmimeMail.Support), gpg.Secret(PgpMail.Support)]);
        var entity = IncomingMail.TextEntity("Hello.\n");
        var body = kind == "smime" ? smime.SmimeEncrypt(entity, SmimeMail.Support) : IncomingMail.PgpEncrypted(gpg.Encrypt(PgpMail.Support, entity));
        var message = IncomingMail.WithHeaders(body, "alice@example.org", MailboxStore.Account);
        var locked = KeyStore.Open(store.Store.Directory, new KeyStoreOptions { Passphrase = passphrase is null ? null : new KeyStorePassphrase(passphrase) });

        var error = Assert.Throws<KeyStoreException>(() => new IncomingSecurity(locked).Inspect(new MemoryStream(message), MailboxStore.Account));

        Assert.Contains(passphrase is null ? "locked" : "is not this store's", error.Message, StringComparison.Ordinal);
        Assert.True(store.Inspect(message, MailboxStore.Account).Security.Encryption?.Success, "the right passphrase opens it");
    }

    [Fact]
    public void The_passphrase_is_proven_by_one_key_and_refused_when_wrong_or_missing()
    {
        using var store = MailboxStore.With([.. smime.WithPrivateKey(SmimeMail.Support), gpg.Secret(PgpMail.Support)]);
        var wrong = KeyStore.Open(store.Store.Directory, new KeyStoreOptions { Passphrase = new KeyStorePassphrase("not the store passphrase") });
        var missing = KeyStore.Open(store.Store.Directory, new KeyStoreOptions());

        Assert.Contains("is not this store's", Assert.Throws<KeyStoreException>(wrong.VerifyPassphrase).Message, StringComparison.Ordinal);
        Assert.Contains("no passphrase was given", Assert.Throws<KeyStoreException>(missing.RequirePassphrase).Message, StringComparison.Ordinal);
        store.Store.VerifyPassphrase();
    }
}
