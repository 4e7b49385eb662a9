using System.IO.MemoryMappedFiles;
using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Modes;
using Org.BouncyCastle.Crypto.Parameters;
using RuleMail.Crypto;
using RuleMail.Keys;

namespace RuleMail.Benchmarks;

/// <summary>
/// Large S/MIME forms streamed since issue 15 (100 MiB of content): the two ways to decrypt a large AES-GCM ciphertext
/// from a file into a file — BouncyCastle's incremental GCM (what RuleMail does) and .NET's one-shot <see cref="AesGcm"/>
/// (OpenSSL) over memory-mapped files — beside the in-memory one-shot over arrays that the in-memory path amounts to; and
/// the whole <see cref="IncomingSecurity.Inspect(Stream, string?)"/> of a 100 MiB authEnveloped-data message and of a
/// 100 MiB opaque signed-data message made by openssl (both above the streaming threshold).
/// </summary>
[MemoryDiagnoser]
#pragma warning disable CA1001 // BenchmarkDotNet disposes through [GlobalCleanup], not IDisposable.
public class LargeSmimeBenchmarks
#pragma warning restore CA1001
{
    private const int Size = 100 * 1024 * 1024;
    private const string Desk = "desk@bench.test";

    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private readonly byte[] _nonce = RandomNumberGenerator.GetBytes(12);
    private readonly byte[] _tag = new byte[16];
    private string _work = null!;
    private string _ciphertext = null!;
    private string _plaintext = null!;
    private KeyStore _store = null!;
    private IncomingSecurity _security = null!;
    private byte[] _gcmMessage = null!;
    private byte[] _opaqueMessage = null!;

    [GlobalSetup]
    public void Setup()
    {
        _work = Path.Combine(Path.GetTempPath(), $"rulemail-bench-large-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_work);
        var plain = RandomNumberGenerator.GetBytes(Size);
        var cipher = new byte[Size];
        using (var aes = new AesGcm(_key, _tag.Length))
        {
            aes.Encrypt(_nonce, plain, cipher, _tag);
        }

        _ciphertext = Path.Combine(_work, "ciphertext");
        _plaintext = Path.Combine(_work, "plaintext");
        File.WriteAllBytes(_ciphertext, cipher);

        // A desk certificate the store trusts for itself (imported by the admin), signer and recipient at once.
        Tools.Run("openssl", _work, null, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "desk.key", "-out", "desk.crt", "-days", "30",
            "-subj", $"/CN={Desk}", "-addext", $"subjectAltName=email:{Desk}", "-addext", "keyUsage=critical,digitalSignature,keyEncipherment"]);
        _store = KeyStore.OpenOrCreate(Path.Combine(_work, "store"), new KeyStoreOptions { Passphrase = new KeyStorePassphrase("benchmark"), Pkcs8Iterations = 1000 });
        _store.Import([ImportFile.Read(Path.Combine(_work, "desk.crt")), ImportFile.Read(Path.Combine(_work, "desk.key"))]);
        _security = new IncomingSecurity(_store);

        var inner = Path.Combine(_work, "inner.txt");
        using (var file = File.Create(inner))
        {
            file.Write(Encoding.ASCII.GetBytes("Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"));
            file.Write(Encoding.ASCII.GetBytes(Convert.ToBase64String(plain, Base64FormattingOptions.InsertLineBreaks)));
            file.Write("\r\n"u8);
        }

        Tools.Run("openssl", _work, null, ["cms", "-encrypt", "-aes-256-gcm", "-in", "inner.txt", "-out", "gcm.txt", "-recip", "desk.crt"]);
        Tools.Run("openssl", _work, null, ["cms", "-sign", "-nodetach", "-in", "inner.txt", "-out", "opaque.txt", "-signer", "desk.crt", "-inkey", "desk.key"]);
        File.Delete(inner);
        _gcmMessage = Message(Path.Combine(_work, "gcm.txt"));
        _opaqueMessage = Message(Path.Combine(_work, "opaque.txt"));
        Expect(GcmInspect(), s => s.Encryption?.Success == true, "the GCM message does not decrypt");
        Expect(OpaqueInspect(), s => s.Sign?.Success == true, "the opaque message does not verify");
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_work, recursive: true);

    [Benchmark(Description = "GCM 100 MiB file to file: BouncyCastle GcmBlockCipher, streaming (RuleMail)")]
    public long BouncyCastleStreaming()
    {
        var gcm = new GcmBlockCipher(AesUtilities.CreateEngine());
        gcm.Init(forEncryption: false, new AeadParameters(new KeyParameter(_key), _tag.Length * 8, _nonce));
        using var input = new FileStream(_ciphertext, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        using var output = new FileStream(_plaintext, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        var buffer = new byte[81920];
        var decrypted = new byte[81920 + 64];
        int read;
        while ((read = input.Read(buffer, 0, buffer.Length)) > 0)
        {
            output.Write(decrypted, 0, gcm.ProcessBytes(buffer, 0, read, decrypted, 0));
        }

        var written = gcm.ProcessBytes(_tag, 0, _tag.Length, decrypted, 0);
        written += gcm.DoFinal(decrypted, written);
        output.Write(decrypted, 0, written);
        return output.Length;
    }

    [Benchmark(Description = "GCM 100 MiB file to file: .NET AesGcm one-shot over memory-mapped files")]
    public unsafe long AesGcmMapped()
    {
        using var input = MemoryMappedFile.CreateFromFile(_ciphertext, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        using var output = MemoryMappedFile.CreateFromFile(_plaintext, FileMode.Create, null, Size, MemoryMappedFileAccess.ReadWrite);
        using var inView = input.CreateViewAccessor(0, Size, MemoryMappedFileAccess.Read);
        using var outView = output.CreateViewAccessor(0, Size, MemoryMappedFileAccess.ReadWrite);
        byte* source = null;
        byte* target = null;
        inView.SafeMemoryMappedViewHandle.AcquirePointer(ref source);
        outView.SafeMemoryMappedViewHandle.AcquirePointer(ref target);
        try
        {
            using var aes = new AesGcm(_key, _tag.Length);
            aes.Decrypt(_nonce, new ReadOnlySpan<byte>(source + inView.PointerOffset, Size), _tag, new Span<byte>(target + outView.PointerOffset, Size));
        }
        finally
        {
            inView.SafeMemoryMappedViewHandle.ReleasePointer();
            outView.SafeMemoryMappedViewHandle.ReleasePointer();
        }

        return Size;
    }

    [Benchmark(Description = "GCM 100 MiB: .NET AesGcm one-shot, arrays (the in-memory path)")]
    public long AesGcmArrays()
    {
        var cipher = File.ReadAllBytes(_ciphertext);
        var plain = new byte[cipher.Length];
        using var aes = new AesGcm(_key, _tag.Length);
        aes.Decrypt(_nonce, cipher, _tag, plain);
        return plain.Length;
    }

    [Benchmark(Description = "Inspect 100 MiB authEnveloped-data (AES-256-GCM), streamed")]
    public SecurityResult GcmInspect()
    {
        using var report = _security.Inspect(new MemoryStream(_gcmMessage, writable: false), Desk);
        return report.Security;
    }

    [Benchmark(Description = "Inspect 100 MiB opaque signed-data, streamed")]
    public SecurityResult OpaqueInspect()
    {
        using var report = _security.Inspect(new MemoryStream(_opaqueMessage, writable: false), Desk);
        return report.Security;
    }

    private static byte[] Message(string body) =>
        [.. Encoding.ASCII.GetBytes($"From: {Desk}\r\nTo: {Desk}\r\nSubject: Large\r\nMessage-ID: <large@bench.test>\r\n"), .. File.ReadAllBytes(body)];

    private static void Expect(SecurityResult result, Func<SecurityResult, bool> check, string problem)
    {
        if (!check(result))
        {
            throw new InvalidOperationException($"{problem}: {result}");
        }
    }
}
