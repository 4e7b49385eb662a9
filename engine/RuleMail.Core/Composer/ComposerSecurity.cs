using RuleMail.Crypto;
using RuleMail.Keys;

namespace RuleMail.Composer;

/// <summary>
/// Answers the composer's question: can ✅ Sign and 🔒 Encrypt be used for this sender and these
/// recipients, and with S/MIME or PGP? Sign needs a valid key of the sender's with its private part,
/// usable for signing; encryption needs a valid key usable for encryption for every recipient, and no
/// more recipients than the settings allow (one, as the seed says). The newest valid key of an address
/// wins, so an old expired certificate never blocks a new one. Bcc recipients are reported apart, one by one
/// (each gets a copy encrypted to them alone), and count for neither rule.
/// </summary>
/// <remarks>Thread-safe; reads the store's current snapshot.</remarks>
public sealed class ComposerSecurity(KeyStore store, ComposerSettings? settings = null)
{
    private readonly ComposerSettings _settings = settings ?? new ComposerSettings();

    /// <summary>The options for a message from <paramref name="from"/>.</summary>
    /// <param name="recipients">The To and Cc recipients; what is not an address is left out.</param>
    /// <param name="bcc">The Bcc recipients, reported in <see cref="SecurityOptions.Bcc"/>; what is not an address is left out.</param>
    /// <param name="type">The security type the composer switched to (<see cref="SecurityResult.SmimeType"/> or
    /// <see cref="SecurityResult.PgpType"/>); it is taken when it can sign or encrypt at all, otherwise the choice is as without it.</param>
    public SecurityOptions For(string? from, IReadOnlyList<string> recipients, IReadOnlyList<string>? bcc = null, string? type = null)
    {
        ArgumentNullException.ThrowIfNull(recipients);
        var sender = MailAddresses.Normalize(from);
        var to = Distinct(recipients);

        var smime = new SecurityTypeOptions(SignPossibility(sender, KeyKind.Smime), EncryptionPossibility(to, KeyKind.Smime));
        var pgp = new SecurityTypeOptions(SignPossibility(sender, KeyKind.Pgp), EncryptionPossibility(to, KeyKind.Pgp));

        var preferred = _settings.PreferPgp ? (Name: SecurityResult.PgpType, Options: pgp) : (Name: SecurityResult.SmimeType, Options: smime);
        var other = _settings.PreferPgp ? (Name: SecurityResult.SmimeType, Options: smime) : (Name: SecurityResult.PgpType, Options: pgp);
        var chosen = other.Options.Strength > preferred.Options.Strength ? other : preferred;
        if (type == other.Name && other.Options.Strength > 0)
        {
            chosen = other;
        }
        else if (type == preferred.Name && preferred.Options.Strength > 0)
        {
            chosen = preferred;
        }

        var chosenType = chosen.Options.Strength > 0 ? chosen.Name : null;
        var canSwitch = smime.Strength > 0 && pgp.Strength > 0;

        var sign = Button(chosen.Options.Sign, _settings.SignByDefault, SecurityTexts.WillBeSigned, SecurityTexts.WillNotBeSigned, SecurityTexts.AskForPrivateKey);
        var encrypt = Button(chosen.Options.Encryption, _settings.EncryptByDefault, SecurityTexts.WillBeEncrypted, SecurityTexts.WillNotBeEncrypted,
            to.Count > _settings.MaxEncryptionRecipients || to.Count == 0 ? null : SecurityTexts.AskForRecipientCertificate);
        return new SecurityOptions(smime, pgp, chosenType, canSwitch, sign, encrypt) { Bcc = BccOptions(bcc ?? [], chosenType) };
    }

    /// <summary>
    /// Whether each Bcc recipient can get a copy encrypted to them alone with <paramref name="type"/> (S/MIME when null),
    /// in the encryption possibility's sentences; one entry per distinct address, what is not an address left out.
    /// </summary>
    public IReadOnlyList<BccOption> BccOptions(IReadOnlyList<string> bcc, string? type)
    {
        ArgumentNullException.ThrowIfNull(bcc);
        var kind = type == SecurityResult.PgpType ? KeyKind.Pgp : KeyKind.Smime;
        return [.. Distinct(bcc).Select(address => BccPossibility(address, kind))];
    }

    private static List<string> Distinct(IReadOnlyList<string> addresses) =>
        [.. addresses.Select(MailAddresses.Normalize).OfType<string>().Distinct(StringComparer.Ordinal)];

    private static SecurityButton Button(Possibility possibility, bool onByDefault, string will, string willNot, string? advice)
    {
        if (possibility.Possible)
        {
            return new SecurityButton(true, onByDefault, onByDefault ? will : willNot);
        }

        var tooltip = advice is null ? $"{willNot} {possibility.Message}" : $"{willNot} {possibility.Message} {advice}";
        return new SecurityButton(false, false, tooltip);
    }

    private Possibility SignPossibility(string? sender, KeyKind kind)
    {
        if (sender is null)
        {
            return new Possibility(false, SecurityTexts.NoSender);
        }

        var now = store.Time.GetUtcNow();
        var candidates = Candidates(sender, kind);
        if (candidates.Any(e => CanSign(e, now)))
        {
            return new Possibility(true, Found(kind, [sender]));
        }

        if (candidates.Count == 0)
        {
            return new Possibility(false, NotFound(kind, [sender]));
        }

        // Explain with the best candidate: the one a person would expect to work.
        var best = candidates.FirstOrDefault(e => e.StatusAt(now) == KeyStatus.Valid && e.UsagesAt(now).HasFlag(KeyUsages.Sign)) ?? candidates[0];
        var problem = Problem(best, now, KeyUsages.Sign) ?? (best.HasPrivateKey ? "cannot be used for signing" : "its private key is missing");
        return new Possibility(false, FoundBut(kind, [sender], problem));
    }

    private Possibility EncryptionPossibility(IReadOnlyList<string> recipients, KeyKind kind)
    {
        if (recipients.Count == 0)
        {
            return new Possibility(false, SecurityTexts.NoRecipient);
        }

        if (recipients.Count > _settings.MaxEncryptionRecipients)
        {
            return new Possibility(false, SecurityTexts.TooManyRecipients(_settings.MaxEncryptionRecipients));
        }

        var now = store.Time.GetUtcNow();
        var missing = new List<string>();
        var unusable = new List<(string Address, string Problem)>();
        foreach (var recipient in recipients)
        {
            var (found, problem) = EncryptionCheck(recipient, kind, now);
            if (!found)
            {
                missing.Add(recipient);
            }
            else if (problem is not null)
            {
                unusable.Add((recipient, problem));
            }
        }

        if (missing.Count > 0)
        {
            return new Possibility(false, NotFound(kind, missing));
        }

        if (unusable.Count > 0)
        {
            return new Possibility(false, string.Join(" ", unusable.Select(u => FoundBut(kind, [u.Address], u.Problem))));
        }

        return new Possibility(true, Found(kind, recipients));
    }

    private BccOption BccPossibility(string address, KeyKind kind)
    {
        var (found, problem) = EncryptionCheck(address, kind, store.Time.GetUtcNow());
        return !found ? new BccOption(address, false, NotFound(kind, [address]))
            : problem is null ? new BccOption(address, true, Found(kind, [address]))
            : new BccOption(address, false, FoundBut(kind, [address], problem));
    }

    /// <summary>
    /// Whether <paramref name="address"/> has a certificate or key of <paramref name="kind"/> at all, and what keeps the
    /// one found from being encrypted to now (null when one can be).
    /// </summary>
    private (bool Found, string? Problem) EncryptionCheck(string address, KeyKind kind, DateTimeOffset now)
    {
        var candidates = Candidates(address, kind);
        if (candidates.Any(e => CanEncryptTo(e, now)))
        {
            return (true, null);
        }

        if (candidates.Count == 0)
        {
            return (false, null);
        }

        return (true, Problem(candidates[0], now, KeyUsages.Encrypt)
            ?? (candidates.Any(e => e.UsagesAt(now).HasFlag(KeyUsages.Encrypt)) ? "RuleMail cannot encrypt to its EC key (only RSA)" : "cannot be used for encryption"));
    }

    private List<KeyEntry> Candidates(string address, KeyKind kind) =>
        kind == KeyKind.Smime ? [.. store.FindSmime(address)] : [.. store.FindPgp(address)];

    /// <summary>S/MIME encryption is RSA key transport only (what EnvelopedCms does); PGP takes any encryption subkey.</summary>
    private static bool CanEncryptTo(KeyEntry entry, DateTimeOffset now) =>
        entry.UsagesAt(now).HasFlag(KeyUsages.Encrypt) &&
        (entry is not SmimeCertificateEntry certificate || certificate.IsRsa);

    private static bool CanSign(KeyEntry entry, DateTimeOffset now) => entry switch
    {
        PgpKeyEntry pgp => pgp.KeyFor(KeyUsages.Sign, now, needSecret: true) is not null,
        _ => entry.HasPrivateKey && entry.UsagesAt(now).HasFlag(KeyUsages.Sign),
    };

    /// <summary>Why a found entry cannot serve now, or null when its status is fine.</summary>
    private static string? Problem(KeyEntry entry, DateTimeOffset now, KeyUsages usage) => entry.StatusAt(now) switch
    {
        KeyStatus.Expired => "has expired",
        KeyStatus.NotYetValid => "is not valid yet",
        KeyStatus.Revoked => "has been revoked",
        _ when !entry.UsagesAt(now).HasFlag(usage) => usage == KeyUsages.Sign ? "cannot be used for signing" : "cannot be used for encryption",
        _ => null,
    };

    private static string Noun(KeyKind kind, int count) => (kind, count) switch
    {
        (KeyKind.Smime, 1) => "certificate",
        (KeyKind.Smime, _) => "certificates",
        (_, 1) => "PGP key",
        _ => "PGP keys",
    };

    private static string Found(KeyKind kind, IReadOnlyList<string> addresses) =>
        $"The {Noun(kind, addresses.Count)} for {string.Join(", ", addresses)} {(addresses.Count == 1 ? "was" : "were")} found.";

    private static string NotFound(KeyKind kind, IReadOnlyList<string> addresses) =>
        $"The {Noun(kind, addresses.Count)} for {string.Join(", ", addresses)} {(addresses.Count == 1 ? "was" : "were")} not found.";

    private static string FoundBut(KeyKind kind, IReadOnlyList<string> addresses, string problem) =>
        $"The {Noun(kind, addresses.Count)} for {string.Join(", ", addresses)} was found, but {problem}.";
}
