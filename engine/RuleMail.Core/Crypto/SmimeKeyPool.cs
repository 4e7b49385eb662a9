using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RuleMail.Crypto;

/// <summary>
/// Key objects made from certificates (<c>GetRSAPrivateKey()</c>, <c>GetRSAPublicKey()</c>, ...), kept for the next message
/// instead of made and disposed for each one. A fresh .NET key object costs OpenSSL 3.0 a decode or an export to its
/// provider and, for a private key, new Montgomery and blinding values on its first operation: measured, about twice the
/// RSA-2048 private operation itself. Keys are kept per certificate instance, so a certificate the store no longer
/// hands out (removed, or reloaded as a new instance) takes its keys with it.
/// </summary>
/// <remarks>Thread-safe: a key is lent to one caller at a time and given back after use.</remarks>
internal sealed class SmimeKeyPool<TKey>(Func<X509Certificate2, TKey?> open)
    where TKey : AsymmetricAlgorithm
{
    /// <summary>Idle keys kept per certificate: one per worker using it at the same moment.</summary>
    private const int MaxIdle = 16;

    private readonly ConditionalWeakTable<X509Certificate2, ConcurrentBag<TKey>> _idle = [];

    /// <summary>A key of <paramref name="certificate"/> for one caller; null when it has none of this type. Give it back with <see cref="Return"/>.</summary>
    public TKey? Rent(X509Certificate2 certificate) =>
        _idle.TryGetValue(certificate, out var idle) && idle.TryTake(out var key) ? key : open(certificate);

    /// <summary>Gives back a key <see cref="Rent"/> lent for <paramref name="certificate"/>.</summary>
    public void Return(X509Certificate2 certificate, TKey key)
    {
        var idle = _idle.GetValue(certificate, _ => []);
        if (idle.Count < MaxIdle)
        {
            idle.Add(key);
        }
        else
        {
            key.Dispose();
        }
    }
}
