using RuleMail.Crypto;

namespace RuleMail.Host.Configuration;

/// <summary><c>security:</c> in rulemail.yaml: the algorithm policy and the resource limits for incoming mail (the defaults shown).</summary>
public sealed class SecurityConfig
{
    public bool AcceptSha1Signatures { get; set; }

    public int MinRsaBits { get; set; } = SecurityPolicy.Default.MinRsaBits;

    public int MaxDecompressedMb { get; set; } = (int)(SecurityPolicy.Default.MaxDecompressedBytes / (1024 * 1024));

    /// <summary>Beyond 10 MB, decompressed OpenPGP data may be at most this many times the compressed bytes (a bomb stops in milliseconds).</summary>
    public int MaxCompressionRatio { get; set; } = SecurityPolicy.Default.MaxCompressionRatio;

    public int MaxHeaderKb { get; set; } = SecurityPolicy.Default.MaxHeaderBytes / 1024;

    public int MaxMimeParts { get; set; } = SecurityPolicy.Default.MaxMimeParts;

    public int MaxSignatures { get; set; } = SecurityPolicy.Default.MaxSignatures;

    public int MaxKeyAttempts { get; set; } = SecurityPolicy.Default.MaxKeyAttempts;

    /// <summary>The policy in Core's terms.</summary>
    [YamlDotNet.Serialization.YamlIgnore]
    public SecurityPolicy Policy => new()
    {
        AcceptSha1Signatures = AcceptSha1Signatures,
        MinRsaBits = MinRsaBits,
        MaxDecompressedBytes = MaxDecompressedMb * 1024L * 1024L,
        MaxCompressionRatio = MaxCompressionRatio,
        MaxHeaderBytes = MaxHeaderKb * 1024,
        MaxMimeParts = MaxMimeParts,
        MaxSignatures = MaxSignatures,
        MaxKeyAttempts = MaxKeyAttempts,
    };
}
