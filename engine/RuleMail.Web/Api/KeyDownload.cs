using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using RuleMail.Json;
using RuleMail.Keys;
using RuleMail.Web.Problems;

namespace RuleMail.Web.Api;

/// <summary>
/// One entry as the caller asked for it: JSON (the list's entry), or its public part as a file — an S/MIME certificate
/// or a CRL as PEM, an OpenPGP key ASCII-armored (<see cref="KeyExport"/>: public material only, whatever the store
/// holds beside it). Chosen by <c>?format=json|pem|armored</c>, else by the Accept header, else JSON.
/// </summary>
internal static class KeyDownload
{
    /// <summary>A certificate as PEM (RFC 8555).</summary>
    public const string PemCertificate = "application/pem-certificate-chain";

    /// <summary>Any PEM file (a CRL as PEM has no type of its own).</summary>
    public const string PemFile = "application/x-pem-file";

    /// <summary>An ASCII-armored OpenPGP public key (RFC 3156).</summary>
    public const string PgpKeys = "application/pgp-keys";

    private const string Json = "json";
    private const string Pem = "pem";
    private const string Armored = "armored";

    public static IResult Answer(KeyEntry entry, string? format, HttpContext context, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(context);

        // The answer depends on Accept: a cache must not hand a PEM download to a caller that asked for JSON.
        context.Response.Headers.Vary = HeaderNames.Accept;
        if (format is not (null or Json or Pem or Armored))
        {
            return ApiProblem.Result(StatusCodes.Status400BadRequest,
                $"format must be json, pem (S/MIME certificates and CRLs) or armored (OpenPGP keys), not '{Shown(format)}'");
        }

        var chosen = format ?? FromAccept(context.Request, entry);
        return (chosen, entry) switch
        {
            (Json, _) => TypedResults.Ok(KeyListEntry.From(entry, now)),
            (Pem, SmimeCertificateEntry certificate) => TypedResults.Bytes(KeyExport.Pem(certificate), PemCertificate, $"{entry.Fingerprint}.crt"),
            (Pem, CrlEntry crl) => TypedResults.Bytes(KeyExport.Pem(crl), PemFile, $"{entry.Fingerprint}.crl"),
            (Armored, PgpKeyEntry key) => TypedResults.Bytes(KeyExport.Armored(key), PgpKeys, $"{entry.Fingerprint}.asc"),
            _ => ApiProblem.Result(StatusCodes.Status406NotAcceptable, $"{What(entry)} {entry.Fingerprint} is given as JSON or as {Offer(entry)}"),
        };
    }

    /// <summary>The entry's own file type when Accept names it, JSON when Accept allows it (or says nothing), else null (406).</summary>
    private static string? FromAccept(HttpRequest request, KeyEntry entry)
    {
        var accepted = request.GetTypedHeaders().Accept.Where(a => a.Quality is not 0).Select(a => a.MediaType.Value?.ToLowerInvariant()).ToList();
        if (accepted.Count == 0)
        {
            return Json;
        }

        if (entry is PgpKeyEntry ? accepted.Contains(PgpKeys) : accepted.Contains(PemCertificate) || accepted.Contains(PemFile))
        {
            return entry is PgpKeyEntry ? Armored : Pem;
        }

        return accepted.Any(a => a is "application/json" or "application/*" or "*/*") ? Json : null;
    }

    private static string What(KeyEntry entry) => entry switch
    {
        PgpKeyEntry => "the OpenPGP key",
        CrlEntry => "the CRL",
        _ => "the S/MIME certificate",
    };

    private static string Offer(KeyEntry entry) => entry switch
    {
        PgpKeyEntry => $"an armored public key (format=armored, or Accept: {PgpKeys})",
        CrlEntry => $"PEM (format=pem, or Accept: {PemFile})",
        _ => $"PEM (format=pem, or Accept: {PemCertificate})",
    };

    /// <summary>A caller's value in a detail line: bounded, one line.</summary>
    private static string Shown(string value) =>
        new([.. value.Take(40).Where(c => !char.IsControl(c))]);
}
