using BenchmarkDotNet.Attributes;
using RuleMail.Application;
using RuleMail.Crypto;
using RuleMail.Rules;

namespace RuleMail.Benchmarks;

/// <summary>
/// Decrypt + verify of one small message through the product's path (<see cref="IncomingAnalysis"/>: structure bounds, parse,
/// security and the shipped rules), per call: S/MIME RSA-2048 (signed by the
/// customer and encrypted to the desk; and each alone) and OpenPGP RSA-3072 and Ed25519/Cv25519 (signed
/// and encrypted).
/// </summary>
[MemoryDiagnoser]
#pragma warning disable CA1001 // BenchmarkDotNet disposes through [GlobalCleanup], not IDisposable.
public class IncomingBenchmarks
#pragma warning restore CA1001
{
    private BenchmarkMail _mail = null!;
    private IncomingAnalysis _incoming = null!;

    [GlobalSetup]
    public void Setup()
    {
        _mail = new BenchmarkMail();
        _incoming = new IncomingAnalysis(_mail.Store, new RuleSetSource(RuleSet.Load(BenchmarkMail.ShippedRules)));
        foreach (var message in new[] { _mail.SmimeSignedEncrypted, _mail.SmimeSigned, _mail.SmimeEncrypted, _mail.PgpRsa, _mail.Pgp25519 })
        {
            var result = _incoming.Analyse(BenchmarkMail.Raw(message), null).Security;
            if (result.Sign?.Success == false || result.Encryption?.Success == false || (result.Sign ?? result.Encryption) is null)
            {
                throw new InvalidOperationException($"benchmark message does not decrypt and verify: {result}");
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _mail.Dispose();

    [Benchmark(Description = "S/MIME RSA-2048 signed+encrypted")]
    public SecurityResult Smime() => _incoming.Analyse(BenchmarkMail.Raw(_mail.SmimeSignedEncrypted), null).Security;

    [Benchmark(Description = "S/MIME RSA-2048 encrypted")]
    public SecurityResult SmimeEncrypted() => _incoming.Analyse(BenchmarkMail.Raw(_mail.SmimeEncrypted), null).Security;

    [Benchmark(Description = "S/MIME RSA-2048 signed")]
    public SecurityResult SmimeSigned() => _incoming.Analyse(BenchmarkMail.Raw(_mail.SmimeSigned), null).Security;

    [Benchmark(Description = "PGP RSA-3072 signed+encrypted")]
    public SecurityResult PgpRsa() => _incoming.Analyse(BenchmarkMail.Raw(_mail.PgpRsa), null).Security;

    [Benchmark(Description = "PGP Ed25519/Cv25519 signed+encrypted")]
    public SecurityResult Pgp25519() => _incoming.Analyse(BenchmarkMail.Raw(_mail.Pgp25519), null).Security;
}
