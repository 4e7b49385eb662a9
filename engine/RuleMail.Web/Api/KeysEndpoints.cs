using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using RuleMail.Host.State;
using RuleMail.Json;
using RuleMail.Keys;
using RuleMail.Web.Access;
using RuleMail.Web.Problems;

namespace RuleMail.Web.Api;

/// <summary>
/// The key store: <c>GET /api/v1/keys</c> (the <c>rulemail keys list --json</c> document), <c>GET /api/v1/keys/{fingerprint}</c>
/// (one entry, or its public part as PEM / armored), <c>POST /api/v1/keys</c> (the all-or-nothing import of
/// <c>rulemail keys import</c>) and <c>DELETE /api/v1/keys/{fingerprint}</c> (<c>rulemail keys remove</c>).
/// </summary>
/// <remarks>
/// Every call works on the process's one <see cref="KeyStore"/>, the instance the options, check, compose and the
/// scheduled jobs use: an import or a removal swaps its snapshot under the store's lock, so the next message sees the
/// change without a reload, and concurrent imports (or a <c>rulemail keys import</c> in another process) are serialised
/// by that lock, each planned against what the one before it wrote. Private material never leaves: downloads are built
/// from the certificate or the public key ring alone.
/// </remarks>
internal static class KeysEndpoints
{
    private const string LogCategory = "RuleMail.Web.Api.Keys";

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/keys", List)
            .WithName("keys-list")
            .WithSummary("Every key store entry")
            .WithDescription("The same document as rulemail keys list --json: the key store's folder and every entry (kind, fingerprint, addresses, validity, usages, status, whether a private key is held, and each kind's own fields).")
            .Produces<KeyListDocument>();

        api.MapGet("/keys/{fingerprint}", Get)
            .WithName("keys-get")
            .WithSummary("One key store entry, or its public part as a file")
            .WithDescription($"fingerprint: as the list shows it, a unique prefix of {KeyReferences.MinimumDigits}+ hex digits, or an OpenPGP long key ID. JSON by default (the list's entry); format=pem (or Accept: {KeyDownload.PemCertificate}) gives an S/MIME certificate or a CRL as PEM, format=armored (or Accept: {KeyDownload.PgpKeys}) an OpenPGP key's ASCII-armored public key. Never any private key material.")
            .Produces<KeyListEntry>(StatusCodes.Status200OK, "application/json")
            .Produces(StatusCodes.Status200OK, contentType: KeyDownload.PemCertificate, additionalContentTypes: [KeyDownload.PemFile, KeyDownload.PgpKeys])
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status406NotAcceptable)
            .ProducesProblem(StatusCodes.Status409Conflict);

        api.MapPost("/keys", ImportAsync)
            .RequireAuthorization(ApiAccess.Policy(ApiRole.Admin))
            .WithName("keys-import")
            .WithSummary("Import certificates, private keys, PKCS#12, CRLs and OpenPGP keys (all or nothing)")
            .WithDescription($"multipart/form-data: one or more files, each in a field named {KeyUpload.FileField} (what rulemail keys import takes: PEM/DER certificates, PEM private keys, PKCS#12, CRLs, armored or binary OpenPGP keys); {KeyUpload.PassphraseField}: the passphrase of encrypted files; {KeyUpload.DomainAliasField}: let the OpenPGP keys imported serve every address of that domain. 201 with every entry touched and the warning to verify each fingerprint with its owner (200 when nothing changed); 422 naming the file and the reason when any file is refused, and then nothing is imported. A CA certificate becomes a trust anchor. The next message uses the keys at once.")
            .AddOpenApiOperationTransformer(KeyUpload.DescribeAsync)
            .Produces<KeyImportDocument>(StatusCodes.Status201Created)
            .Produces<KeyImportDocument>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

        api.MapDelete("/keys/{fingerprint}", Remove)
            .RequireAuthorization(ApiAccess.Policy(ApiRole.Admin))
            .WithName("keys-remove")
            .WithSummary("Remove one entry and its private key")
            .WithDescription("As rulemail keys remove: the entry the fingerprint names (see keys-get) goes, with its private key. The next message no longer finds it.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
    }

    private static IResult List(KeyStore store) => TypedResults.Ok(KeyListDocument.From(store, store.Time.GetUtcNow()));

    private static IResult Get(string fingerprint, string? format, HttpContext context, KeyStore store) =>
        KeyReference.Find(store, fingerprint, out var refusal) is { } entry
            ? KeyDownload.Answer(entry, format, context, store.Time.GetUtcNow())
            : refusal!;

    private static async Task<IResult> ImportAsync(HttpContext context, KeyStore store, ILoggerFactory logging, CancellationToken cancellationToken)
    {
        var (upload, refusal) = await KeyUpload.ReadAsync(context.Request, cancellationToken).ConfigureAwait(false);
        if (refusal is not null)
        {
            return refusal;
        }

        IReadOnlyList<ImportedEntry> imported;
        try
        {
            imported = store.Import(upload!.Files, upload.Passphrase, upload.DomainAlias);
        }
        catch (KeyStoreException e)
        {
            // The message names the file and the reason, never the passphrase; nothing was written.
            return ApiProblem.Result(StatusCodes.Status422UnprocessableEntity, KeyUpload.Refusal(e));
        }

        var logger = logging.CreateLogger(LogCategory);
        var who = ApiAccess.TokenName(context.User);
        foreach (var item in imported.Where(i => i.Change != ImportChange.Unchanged))
        {
            logger.LogInformation(
                "key store: {Change} {Kind} {Who} {Fingerprint} from {File} (token {Token})",
                KeyImportEntry.ChangeName(item.Change), KeyReference.KindOf(item.Entry), KeyReferences.Who(item.Entry), item.Entry.Fingerprint, item.Source, who);
        }

        var document = KeyImportDocument.From(imported, store.Time.GetUtcNow());
        var changed = imported.Where(i => i.Change != ImportChange.Unchanged).ToList();
        if (changed.Count == 0)
        {
            return TypedResults.Ok(document);
        }

        var location = changed.Count == 1 ? $"/api/v1/keys/{changed[0].Entry.Fingerprint}" : "/api/v1/keys";
        return TypedResults.Created(location, document);
    }

    private static IResult Remove(string fingerprint, HttpContext context, KeyStore store, ILoggerFactory logging)
    {
        if (KeyReference.Find(store, fingerprint, out var refusal) is not { } entry)
        {
            return refusal!;
        }

        KeyEntry removed;
        try
        {
            removed = store.Remove(entry.Fingerprint);
        }
        catch (KeyStoreException) when (store.Entries.All(e => e.Fingerprint != entry.Fingerprint))
        {
            // Removed by someone else since it was found.
            return ApiProblem.Result(StatusCodes.Status404NotFound, $"no key store entry has the fingerprint {entry.Fingerprint} (GET /api/v1/keys lists them)");
        }

        logging.CreateLogger(LogCategory).LogInformation(
            "key store: removed {Kind} {Who} {Fingerprint}{Private} (token {Token})",
            KeyReference.KindOf(removed), KeyReferences.Who(removed), removed.Fingerprint,
            removed.HasPrivateKey ? " and its private key" : string.Empty, ApiAccess.TokenName(context.User));
        return TypedResults.NoContent();
    }
}
