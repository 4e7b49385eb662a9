namespace RuleMail.Keys;

/// <summary>
/// What the store knows of one OpenPGP key after verifying its self-signatures: derived when the key's files are first
/// seen and kept in the <see cref="KeyStoreCache"/> under the SHA-256 of the public (and secret) key ring's bytes, so
/// that the signatures are not verified again on every load.
/// </summary>
internal sealed record PgpFacts(
    string Fingerprint,
    IReadOnlyList<string> UserIds,
    IReadOnlyList<string> Addresses,
    IReadOnlyList<PgpSubkey> Keys);
