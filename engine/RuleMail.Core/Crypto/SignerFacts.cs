namespace RuleMail.Crypto;

/// <summary>Who made a signature: the address the certificate or key names for the sender (or its first), and its fingerprint.</summary>
public sealed record SignerFacts(string? Address, string Fingerprint);
