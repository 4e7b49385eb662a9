using BenchmarkDotNet.Attributes;
using RuleMail.Crypto;

namespace RuleMail.Benchmarks;

/// <summary>
/// Decrypt + verify of one small message through the product's path (structure bounds and parse included), per call: S/MIME RSA-2048 (signed by the
/// customer and encrypted to the desk; and each alone) and OpenPGP RSA-3072 and Ed25519/Cv25519 (signed
/// and encrypted).
/// </summary>
[MemoryDiagnoser]
#pragma warning disable CA1001 // BenchmarkDotNet disposes through [GlobalCleanup], not IDisposable.
public class IncomingBenchmarks
#pragma warning restore CA1001
{
    private BenchmarkMail _mail = null!;
    private IncomingSecurity _incoming = null!;

    [GlobalSetup]
    public void Setup()
    {
        _mail = new BenchmarkMail();
        _incoming = new IncomingSecurity(_mail.Store);
        foreach (var message in new[] { _mail.SmimeSignedEncrypted, _mail.SmimeSigned, _mail.SmimeEncrypted, _mail.PgpRsa, _mail.Pgp25519 })
        {
            var result = _incoming.Inspect(BenchmarkMail.Raw(message)).Security;
            if (result.Sign?.Success == false || result.Encryption?.Success == false || (result.Sign ?? result.Encryption) is null)
            {
                throw new InvalidOperationException($"benchmark message does not decrypt and verify: {result}");
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _mail.Dispose();

    [Benchmark(Description = "S/MIME RSA-2048 signed+encrypted")]
    public SecurityResult Smime() => _incoming.Inspect(BenchmarkMail.Raw(_mail.SmimeSignedEncrypted)).Security;

    [Benchmark(Description = "S/MIME RSA-2048 encrypted")]
    public SecurityResult SmimeEncrypted() => _incoming.Inspect(BenchmarkMail.Raw(_mail.SmimeEncrypted)).Security;

    [Benchmark(Description = "S/MIME RSA-2048 signed")]
    public SecurityResult SmimeSigned() => _incoming.Inspect(BenchmarkMail.Raw(_mail.SmimeSigned)).Security;

    [Benchmark(Description = "PGP RSA-3072 signed+encrypted")]
    public SecurityResult PgpRsa() => _incoming.Inspect(BenchmarkMail.Raw(_mail.PgpRsa)).Security;

    [Benchmark(Description = "PGP Ed25519/Cv25519 signed+encrypted")]
    public SecurityResult Pgp25519() => _incoming.Inspect(BenchmarkMail.Raw(_mail.Pgp25519)).Security;
}
