namespace RuleMail.Crypto;

/// <summary>A signer's public key: <c>rsa</c>, <c>dsa</c>, <c>ecdsa</c>, <c>ed25519</c>, ... and its size in bits (the modulus or the curve).</summary>
public sealed record KeyFacts(string Algorithm, int Bits);
