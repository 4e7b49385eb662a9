using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// What a hostile OpenPGP message may cost: decompression bombs (gpg-made and hand-built), nesting, signatures and
/// private-key attempts per message. Each limit gives a failure with its own comment; memory is measured with the
/// bytes this thread allocated while the message was inspected (the inspection runs on the test's thread, and other
/// test classes running in parallel do not blur a per-thread count).
/// </summary>
public sealed class PgpLimitsTests(PgpMail gpg, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<PgpMail>
{
    private const string Pgp = SecurityResult.PgpType;
    private const string Body = "Please reset the password of account 4711.\n";
    private const long MB = 1024 * 1024;

    private static PgpPublicKey SupportKey => PgpPackets.EncryptionKey(PgpMail.Files["support.pub.asc"]);

    private static PgpPublicKey StrangerKey => PgpPackets.EncryptionKey(PgpMail.Files["stranger.pub.asc"]);

    [Theory]
    [InlineData("pgp-mime")]
    [InlineData("inline")]
    public void A_4_GB_deflate_bomb_stops_at_max_decompressed_bytes_and_allocates_less_than_twice_that(string shape)
    {
        using var store = MailboxStore.With(gpg.Secret(PgpMail.Support));
        var policy = SecurityPolicy.Default with { MaxCompressionRatio = 1_000_000 };
        var bomb = PgpPackets.Encrypt(PgpPackets.CompressedPacket(CompressionAlgorithmTag.Zip, PgpPackets.DeflateBomb(4096)), SymmetricKeyAlgorithmTag.Aes256, SupportKey);
        var message = IncomingMail.Load(Wrap(shape, Support.Pgp.Armor(bomb)));

        var (report, allocated) = Measured(store, message, policy);

        SecurityAssert.DecryptionFailed(report.Security, Pgp, SecurityComments.DecompressedTooLarge(policy.MaxDecompressedBytes));
        Assert.Null(report.Security.Sign);
        Assert.Equal("aes256", report.Security.Encryption!.Cipher);
        Assert.Equal(Integrity.Mdc, report.Security.Encryption.Integrity);
        Assert.True(allocated < 2 * policy.MaxDecompressedBytes, $"inspecting the bomb allocated {allocated / MB} MB");
    }

    [Theory]
    [InlineData("bzip2")]
    [InlineData("zlib")]
    [InlineData("zip")]
    public void A_gpg_made_bomb_is_stopped_by_the_compression_ratio_soon_after_the_grace_size(string algorithm)
    {
        using var store = MailboxStore.With(gpg.Secret(PgpMail.Support));
        var armored = gpg.Encrypt(PgpMail.Support, new byte[64 * MB], "--compress-algo", algorithm, "--compress-level", "9");
        Assert.True(armored.Length < 256 * 1024, $"gpg compressed 64 MB of zeros to {armored.Length} bytes");
        var message = IncomingMail.Load(Wrap("pgp-mime", armored));

        var (report, allocated) = Measured(store, message, SecurityPolicy.Default);

        SecurityAssert.DecryptionFailed(report.Security, Pgp, SecurityComments.CompressionRatioTooHigh(SecurityPolicy.Default.MaxCompressionRatio));
        Assert.Null(report.Security.Sign);
        // Inflating all 64 MB into an array would allocate at least 128 MB; the ratio stops it just after the 10 MB grace.
        Assert.True(allocated < 48 * MB, $"inspecting the bomb allocated {allocated / MB} MB");
    }

    [Fact]
    public void A_gpg_made_bzip2_bomb_without_the_ratio_stops_at_max_decompressed_bytes()
    {
        using var store = MailboxStore.With(gpg.Secret(PgpMail.Support));
        var policy = SecurityPolicy.Default with { MaxDecompressedBytes = 16 * MB, MaxCompressionRatio = 1_000_000 };
        var armored = gpg.Encrypt(PgpMail.Support, new byte[64 * MB], "--compress-algo", "bzip2");
        var message = IncomingMail.Load(Wrap("inline", armored));

        var (report, allocated) = Measured(store, message, policy);

        SecurityAssert.DecryptionFailed(report.Security, Pgp, SecurityComments.DecompressedTooLarge(16 * MB));
        Assert.True(allocated < 2 * 16 * MB + (8 * MB), $"inspecting the bomb allocated {allocated / MB} MB");
    }

    [Theory]
    [InlineData("zip")]
    [InlineData("zlib")]
    [InlineData("bzip2")]
    public void A_gpg_message_compressed_with_each_algorithm_still_decrypts(string algorithm)
    {
        using var store = MailboxStore.With(gpg.Secret(PgpMail.Support));
        var armored = gpg.Encrypt(PgpMail.Support, IncomingMail.TextEntity(Body), "--compress-algo", algorithm);

        var report = store.Inspect(Wrap("pgp-mime", armored), MailboxStore.Account);

        SecurityAssert.Decrypted(report.Security, Pgp);
        Assert.Equal(IncomingMail.Normalized(Body), IncomingMail.Normalized(IncomingMail.TextOf(report.Message)));
    }

    [Theory]
    [InlineData(2, true)]
    [InlineData(3, false)]
    public void Compressed_packets_may_nest_two_deep_but_not_three(int depth, bool decrypts)
    {
        using var store = MailboxStore.With(gpg.Secret(PgpMail.Support));
        var packets = PgpPackets.Literal(IncomingMail.TextEntity(Body));
        for (var i = 0; i < depth; i++)
        {
            packets = PgpPackets.Compressed(i % 2 == 0 ? CompressionAlgorithmTag.Zip : CompressionAlgorithmTag.ZLib, packets);
        }

        var report = Inspect(store, Wrap("pgp-mime", Support.Pgp.Armor(PgpPackets.Encrypt(packets, SymmetricKeyAlgorithmTag.Aes256, SupportKey))));

        if (decrypts)
        {
            SecurityAssert.Decrypted(report.Security, Pgp);
        }
        else
        {
            SecurityAssert.DecryptionFailed(report.Security, Pgp, SecurityComments.CompressionTooDeep(2));
        }
    }

    [Fact]
    public void Two_hundred_thousand_nested_compressed_packets_are_refused_at_the_third_and_cost_almost_nothing()
    {
        using var store = MailboxStore.With(gpg.Secret(PgpMail.Support));
        var literal = PgpPackets.Literal(IncomingMail.TextEntity(Body));
        var nested = new List<byte>();
        for (var i = 0; i < 200_000; i++)
        {
            nested.AddRange(PgpPackets.CompressedPacket(CompressionAlgorithmTag.Uncompressed, []));
        }

        nested.AddRange(literal);
        var message = IncomingMail.Load(Wrap("pgp-mime", Support.Pgp.Armor(PgpPackets.Encrypt([.. nested], SymmetricKeyAlgorithmTag.Aes256, SupportKey))));

        var (report, allocated) = Measured(store, message, SecurityPolicy.Default);

        SecurityAssert.DecryptionFailed(report.Security, Pgp, SecurityComments.CompressionTooDeep(2));
        Assert.True(allocated < 32 * MB, $"inspecting the nested packets allocated {allocated / MB} MB");
    }

    [Fact]
    public void A_detached_signature_that_inflates_to_a_million_signatures_stops_at_the_signature_data_limit()
    {
        using var store = MailboxStore.With(gpg.Public(PgpMail.Paul));
        var content = IncomingMail.TextEntity(Body);
        var one = Support.Pgp.Dearmor(gpg.DetachSign(PgpMail.Paul, content));
        var compressed = PgpPackets.CompressedPacket(CompressionAlgorithmTag.Zip, PgpPackets.DeflateRepeated(one, 1_000_000));
        var message = IncomingMail.Load(IncomingMail.WithHeaders(IncomingMail.PgpSigned(content, Support.Pgp.Armor(compressed)), PgpMail.Address(PgpMail.Paul), MailboxStore.Account));

        var (report, allocated) = Measured(store, message, SecurityPolicy.Default);

        SecurityAssert.SignFailed(report.Security, Pgp, SecurityComments.DecompressedTooLarge(SecurityPolicy.Default.MaxSignatures * 64 * 1024));
        Assert.True(allocated < 64 * MB, $"inspecting the signatures allocated {allocated / MB} MB");
    }

    [Theory]
    [InlineData(16, true)]
    [InlineData(17, false)]
    public void A_detached_signature_list_longer_than_max_signatures_is_refused_without_verifying_any(int copies, bool verifies)
    {
        using var store = MailboxStore.With(gpg.Public(PgpMail.Paul));
        var content = IncomingMail.TextEntity(Body);
        var one = Support.Pgp.Dearmor(gpg.DetachSign(PgpMail.Paul, content));
        var signatures = Support.Pgp.Armor([.. Enumerable.Repeat(one, copies).SelectMany(s => s)]);

        var report = store.Inspect(IncomingMail.WithHeaders(IncomingMail.PgpSigned(content, signatures), PgpMail.Address(PgpMail.Paul), MailboxStore.Account));

        if (verifies)
        {
            SecurityAssert.Signed(report.Security, Pgp);
        }
        else
        {
            // The first signature is good: only the rule can make the result a failure.
            SecurityAssert.SignFailed(report.Security, Pgp, SecurityComments.TooManySignatures(copies, 16));
        }
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(17, false)]
    public void Signatures_inside_an_encrypted_message_are_capped_too(int copies, bool verifies)
    {
        using var store = MailboxStore.With(gpg.Secret(PgpMail.Support), gpg.Public(PgpMail.Paul));
        var content = IncomingMail.TextEntity(Body);
        var one = Support.Pgp.Dearmor(gpg.DetachSign(PgpMail.Paul, content));
        byte[] plaintext = [.. PgpPackets.Literal(content), .. Enumerable.Repeat(one, copies).SelectMany(s => s)];
        var armored = Support.Pgp.Armor(PgpPackets.Encrypt(plaintext, SymmetricKeyAlgorithmTag.Aes256, SupportKey));

        var report = store.Inspect(IncomingMail.WithHeaders(IncomingMail.PgpEncrypted(armored), PgpMail.Address(PgpMail.Paul), MailboxStore.Account), MailboxStore.Account);

        SecurityAssert.Decrypted(report.Security, Pgp);
        if (verifies)
        {
            SecurityAssert.Signed(report.Security, Pgp);
        }
        else
        {
            SecurityAssert.SignFailed(report.Security, Pgp, SecurityComments.TooManySignatures(copies, 16));
        }
    }

    [Fact]
    public void A_thousand_anonymous_recipients_stop_at_max_key_attempts()
    {
        using var store = MailboxStore.With(gpg.Secret(PgpMail.Support));
        var recipients = Enumerable.Repeat(StrangerKey, 1000).Append(SupportKey).ToArray();
        var armored = Support.Pgp.Armor(PgpPackets.EncryptAnonymously(PgpPackets.Literal(IncomingMail.TextEntity(Body)), recipients));

        var report = store.Inspect(Wrap("pgp-mime", armored), MailboxStore.Account);

        SecurityAssert.DecryptionFailed(report.Security, Pgp, SecurityComments.TooManyKeyAttempts(SecurityPolicy.Default.MaxKeyAttempts));
    }

    [Fact]
    public void A_few_anonymous_recipients_are_all_tried_and_the_right_one_opens_the_message()
    {
        using var store = MailboxStore.With(gpg.Secret(PgpMail.Support));
        var recipients = Enumerable.Repeat(StrangerKey, 3).Append(SupportKey).ToArray();
        var armored = Support.Pgp.Armor(PgpPackets.EncryptAnonymously(PgpPackets.Literal(IncomingMail.TextEntity(Body)), recipients));

        var report = store.Inspect(Wrap("pgp-mime", armored), MailboxStore.Account);

        SecurityAssert.Decrypted(report.Security, Pgp);
    }

    [Fact]
    public void A_thousand_session_key_packets_naming_a_store_key_that_none_opens_stop_at_max_key_attempts()
    {
        using var store = MailboxStore.With(gpg.Secret(PgpMail.Support));
        var armored = Support.Pgp.Armor(PgpPackets.EncryptNaming(PgpPackets.Literal(IncomingMail.TextEntity(Body)), StrangerKey, SupportKey.KeyId, 1000));

        var report = store.Inspect(Wrap("pgp-mime", armored), MailboxStore.Account);

        SecurityAssert.DecryptionFailed(report.Security, Pgp, SecurityComments.TooManyKeyAttempts(SecurityPolicy.Default.MaxKeyAttempts));
    }

    private static IncomingReport Inspect(MailboxStore store, byte[] message, SecurityPolicy? policy = null) =>
        new IncomingSecurity(store.Store, policy).Inspect(IncomingMail.Load(message), MailboxStore.Account);

    private (IncomingReport Report, long Allocated) Measured(MailboxStore store, MimeKit.MimeMessage message, SecurityPolicy policy)
    {
        var security = new IncomingSecurity(store.Store, policy);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var report = security.Inspect(message, MailboxStore.Account);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        output.WriteLine($"inspected in {System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds:F0} ms, allocated {allocated / MB} MB: {report.Security.Encryption?.Comment ?? report.Security.Sign?.Comment}");
        return (report, allocated);
    }

    private static byte[] Wrap(string shape, byte[] armored) =>
        IncomingMail.WithHeaders(
            shape == "inline" ? IncomingMail.InlineText(armored) : IncomingMail.PgpEncrypted(armored), "paul@example.net", MailboxStore.Account);
}
