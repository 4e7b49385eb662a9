using System.Security.Cryptography.X509Certificates;

namespace RuleMail.Crypto;

/// <summary>
/// The one way RuleMail builds X.509 chains: trust only what the caller puts in the custom trust store,
/// never the system's roots, never download anything, no online revocation (the store's CRLs are judged
/// apart), at the store's notion of now.
/// </summary>
internal static class StoreChain
{
    public static X509Chain Create(DateTimeOffset now)
    {
        var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        return chain;
    }
}
