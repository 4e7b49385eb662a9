namespace RuleMail.Crypto;

/// <summary>
/// What incoming mail must meet to be called good, and what it may cost to find out (<c>security:</c> in
/// rulemail.yaml). Algorithms below the policy are failures with their own comment; a limit that is hit turns
/// the message into a failure result at once, never an exception or an unbounded allocation.
/// </summary>
/// <remarks>Immutable; one instance serves every worker.</remarks>
public sealed record SecurityPolicy
{
    /// <summary>The documented defaults.</summary>
    public static SecurityPolicy Default { get; } = new();

    /// <summary>The smallest RSA signer key that may be configured: below it a signature proves nothing.</summary>
    public const int SmallestMinRsaBits = 1024;

    /// <summary>SHA-1 signatures are refused unless this is set (MD2, MD4 and MD5 are refused always).</summary>
    public bool AcceptSha1Signatures { get; init; }

    /// <summary>The smallest RSA (and DSA) key a signer may use; never below <see cref="SmallestMinRsaBits"/>.</summary>
    public int MinRsaBits
    {
        get => _minRsaBits;
        init => _minRsaBits = Math.Max(value, SmallestMinRsaBits);
    }

    private readonly int _minRsaBits = 2048;

    /// <summary>The most bytes decompressed OpenPGP data may inflate to, counted while it is inflated.</summary>
    public long MaxDecompressedBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>The most compressed packets nested inside one another.</summary>
    public int MaxCompressionDepth { get; init; } = 2;

    /// <summary>
    /// Beyond <see cref="CompressionRatioGraceBytes"/>, decompressed OpenPGP data may be at most this many times the compressed
    /// bytes of the message (default 100, Apache POI's ZipSecureFile default). A bomb of a few KB is stopped after
    /// <see cref="CompressionRatioGraceBytes"/> instead of after <see cref="MaxDecompressedBytes"/>: inflating 256 MB of bzip2 costs
    /// seconds of CPU in BouncyCastle, 10 MB well under 100 ms. Real mail stays below it: text compresses 3 to 10 times.
    /// </summary>
    public int MaxCompressionRatio { get; init; } = 100;

    /// <summary>Decompressed bytes that may come out of any compressed OpenPGP data before <see cref="MaxCompressionRatio"/> applies (default 10 MB).</summary>
    public long CompressionRatioGraceBytes { get; init; } = 10L * 1024 * 1024;

    /// <summary>The largest header block (of the message or of any MIME part), and so the longest header field, before MIME parsing.</summary>
    public int MaxHeaderBytes { get; init; } = 1024 * 1024;

    /// <summary>The most MIME parts a message may have.</summary>
    public int MaxMimeParts { get; init; } = 10_000;

    /// <summary>The most signatures (OpenPGP signature packets or CMS SignerInfos) examined per message.</summary>
    public int MaxSignatures { get; init; } = 16;

    /// <summary>The most private-key attempts (including those on anonymous OpenPGP recipients) per message.</summary>
    public int MaxKeyAttempts { get; init; } = 16;
}
