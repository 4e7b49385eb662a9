using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using RuleMail.Keys;
using RuleMail.Web.Problems;

namespace RuleMail.Web.Api;

/// <summary>
/// A key upload (<c>POST /api/v1/keys</c>): <c>multipart/form-data</c> with one or more files in fields named
/// <c>file</c>, an optional <c>passphrase</c> for encrypted inputs (PKCS#12, encrypted PKCS#8, protected OpenPGP secret
/// keys) and an optional <c>domain_alias</c> — what <c>rulemail keys import FILE... --passphrase-env VAR --domain-alias
/// DOMAIN</c> takes. Kestrel has bounded the body by <c>http.max_message_mb</c>. The passphrase lives in this record
/// only for the import: it is never logged, written or echoed.
/// </summary>
internal sealed record KeyUpload(IReadOnlyList<ImportFile> Files, string? Passphrase, string? DomainAlias)
{
    public const string FileField = "file";
    public const string PassphraseField = "passphrase";
    public const string DomainAliasField = "domain_alias";

    private const int LongestName = 200;

    /// <summary>The upload, or the problem answer saying what is wrong with the request (not with a file: the import judges those).</summary>
    /// <exception cref="BadHttpRequestException">The body is larger than <c>http.max_message_mb</c> (413), or the client broke off.</exception>
    public static async Task<(KeyUpload? Upload, ProblemHttpResult? Refusal)> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!request.HasFormContentType || !request.ContentType!.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            return (null, ApiProblem.Result(StatusCodes.Status415UnsupportedMediaType,
                $"send the key files as multipart/form-data, each in a field named {FileField} (curl -F {FileField}=@alice.crt), not {request.ContentType ?? "no content type"}"));
        }

        IFormCollection form;
        try
        {
            form = await request.ReadFormAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidDataException or (IOException and not BadHttpRequestException))
        {
            // A broken multipart body (no boundary, a truncated part, a header section over the form's limits); Kestrel's
            // own refusals (413 above http.max_message_mb) go on to the exception handler with their status.
            return (null, ApiProblem.Result(StatusCodes.Status400BadRequest, $"the multipart body cannot be read: {e.Message.TrimEnd('.')}"));
        }

        // Unknown fields are refused, not ignored: a key sent as "files" or a passphrase as "password" must not vanish silently.
        if (form.Keys.FirstOrDefault(k => !Is(k, PassphraseField) && !Is(k, DomainAliasField)) is { } text)
        {
            return (null, ApiProblem.Result(StatusCodes.Status400BadRequest, Is(text, FileField)
                ? $"the field {FileField} holds text, not a file: send the file itself (curl -F {FileField}=@alice.crt)"
                : $"unknown form field '{Shown(text, 40)}': the fields are {FileField} (one per key file), {PassphraseField} and {DomainAliasField}"));
        }

        if (form.Files.FirstOrDefault(f => !Is(f.Name, FileField)) is { } misnamed)
        {
            return (null, ApiProblem.Result(StatusCodes.Status400BadRequest,
                $"unknown file field '{Shown(misnamed.Name, 40)}': send each key file in a field named {FileField}"));
        }

        if (form.Files.Count == 0)
        {
            return (null, ApiProblem.Result(StatusCodes.Status400BadRequest, $"no key file: send each file in a multipart field named {FileField}"));
        }

        if (Single(form, PassphraseField, out var passphrase) is { } twoPassphrases)
        {
            return (null, twoPassphrases);
        }

        if (Single(form, DomainAliasField, out var domainAlias) is { } twoAliases)
        {
            return (null, twoAliases);
        }

        var files = new List<ImportFile>(form.Files.Count);
        for (var i = 0; i < form.Files.Count; i++)
        {
            var file = form.Files[i];
            using var content = new MemoryStream((int)Math.Min(file.Length, int.MaxValue));
            await file.CopyToAsync(content, cancellationToken).ConfigureAwait(false);
            files.Add(new ImportFile(NameOf(file.FileName, i), content.ToArray()));
        }

        return (new KeyUpload(files, passphrase, domainAlias), null);
    }

    /// <summary>
    /// The form in the OpenAPI document. Described here rather than with <c>Accepts</c>: that metadata would make routing
    /// answer another content type with a bare 415, before <see cref="ReadAsync"/> can say how to send the files.
    /// </summary>
    public static Task DescribeAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(operation);
        operation.RequestBody = new OpenApiRequestBody
        {
            Required = true,
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["multipart/form-data"] = new()
                {
                    Schema = new OpenApiSchema
                    {
                        Type = JsonSchemaType.Object,
                        Required = new HashSet<string> { FileField },
                        Properties = new Dictionary<string, IOpenApiSchema>
                        {
                            [FileField] = new OpenApiSchema
                            {
                                Type = JsonSchemaType.Array,
                                Items = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" },
                                Description = "A key file, repeated for each: PEM/DER certificates, PEM private keys, PKCS#12, CRLs, armored or binary OpenPGP keys",
                            },
                            [PassphraseField] = new OpenApiSchema
                            {
                                Type = JsonSchemaType.String,
                                Format = "password",
                                Description = "The passphrase of encrypted files (PKCS#12, encrypted PKCS#8, protected OpenPGP secret keys); never logged",
                            },
                            [DomainAliasField] = new OpenApiSchema
                            {
                                Type = JsonSchemaType.String,
                                Description = "Let the OpenPGP keys imported serve every address of this domain",
                            },
                        },
                    },
                },
            },
        };
        return Task.CompletedTask;
    }

    /// <summary>
    /// An import's refusal in the API's words: the key store speaks to the CLI (<c>--passphrase-env VAR</c>,
    /// <c>--domain-alias</c>); over HTTP those are form fields.
    /// </summary>
    public static string Refusal(KeyStoreException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return error.Message
            .Replace("with --passphrase-env VAR", $"in the {PassphraseField} field", StringComparison.Ordinal)
            .Replace("--domain-alias", $"the {DomainAliasField} field", StringComparison.Ordinal)
            .ReplaceLineEndings(" ");
    }

    /// <summary>
    /// The name a file is known by in answers and logs: its last path segment as the client gave it, one line, bounded;
    /// <c>file N</c> when it has none.
    /// </summary>
    internal static string NameOf(string? given, int index)
    {
        var name = given ?? string.Empty;
        name = name[(name.LastIndexOfAny(['/', '\\']) + 1)..];
        name = Shown(name, LongestName).Trim();
        return name.Length > 0 ? name : $"file {index + 1}";
    }

    private static ProblemHttpResult? Single(IFormCollection form, string field, out string? value)
    {
        value = null;
        var values = form[field];
        if (values.Count > 1)
        {
            return ApiProblem.Result(StatusCodes.Status400BadRequest, $"give one {field}, not {values.Count}");
        }

        // One trailing line break is the end of the file it was read from (curl -F "passphrase=<FILE"), as with
        // keystore_passphrase_file. An empty field is no passphrase: a PKCS#12 without a password opens without one.
        var text = values.ToString();
        text = text.EndsWith("\r\n", StringComparison.Ordinal) ? text[..^2] : text.EndsWith('\n') ? text[..^1] : text;
        value = text.Length == 0 ? null : text;
        return null;
    }

    private static bool Is(string name, string field) => string.Equals(name, field, StringComparison.OrdinalIgnoreCase);

    private static string Shown(string text, int longest) => new([.. text.Where(c => !char.IsControl(c)).Take(longest)]);
}
