using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.WebUtilities;
using MimeKit;
using RuleMail.Application;
using RuleMail.Host.Configuration;
using RuleMail.Host.State;
using RuleMail.Json;
using RuleMail.Rules;
using RuleMail.Web.Access;
using RuleMail.Web.Problems;

namespace RuleMail.Web.Api;

/// <summary>
/// The rules in force and their checks: <c>GET /api/v1/rules</c> (the rule set the next message is judged by),
/// <c>POST /api/v1/rules/lint</c> (the configured rules folder, or one rule file sent, with
/// the errors <c>rulemail rules lint</c> gives) and <c>POST /api/v1/rules/test</c> (a message through the incoming or
/// outgoing rules — the configured ones or those sent — with the trace of <c>check --json</c>). Both go through the
/// same loader and use cases as the CLI and the host; nothing sent is ever written to the rules folder.
/// </summary>
internal static class RulesEndpoints
{
    private const string MessagePart = "message";
    private const string RulesPart = "rules";

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/rules", List)
            .WithName("rules-list")
            .WithSummary("The rules in force")
            .WithDescription("The rule set the next message is judged by: its folder and every rule in the order they run (name, file, on, enabled). A running host keeps its last good set when the folder stops loading, so this can differ from the folder's files now: POST /api/v1/rules/lint with an empty body checks those.")
            .Produces<RuleListDocument>();
        api.MapPost("/rules/lint", LintAsync)
            .WithName("rules-lint")
            .WithSummary("Check the rules folder, or one rule file")
            .WithDescription($"An empty body lints the configured rules folder; a body of application/yaml (or text/yaml) or application/javascript (or text/javascript) lints that one file, named by ?name=FILE.yaml (default rule.yaml / rule.js), at most {RuleFiles.MaxBytes / 1024} KB. errors: file, line, column, message as rulemail rules lint prints them.")
            .DescribesBody("A rule file (or nothing: the rules folder)", "application/yaml", "text/yaml", "application/javascript", "text/javascript")
            .Produces<RuleLintDocument>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        api.MapPost("/rules/test", TestAsync)
            .RequireAuthorization(ApiAccess.Policy(ApiRole.Agent))
            .WithName("rules-test")
            .WithSummary("Dry-run the rules on one message")
            .WithDescription($"multipart/form-data: a '{MessagePart}' part (message/rfc822) and optional '{RulesPart}' parts (rule files, by their file names; at most {RuleFiles.MaxFiles} files of at most {RuleFiles.MaxBytes / 1024} KB each, {RuleFiles.MaxRules} rules in all) to use instead of the configured rules. direction: incoming (default; the message is decrypted and verified first, as check does) or outgoing. account: the account (name or address) the rules see.")
            .DescribesBody($"The '{MessagePart}' part and optional '{RulesPart}' parts", "multipart/form-data")
            .Produces<RuleTestDocument>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);
    }

    private static IResult List(RuleSetSource rules) => TypedResults.Ok(RuleListDocument.From(rules.Current));

    private static async Task<IResult> LintAsync(HttpRequest request, RuleMailConfig config, string? name, CancellationToken cancellationToken)
    {
        var type = request.ContentType?.Split(';')[0].Trim();
        var content = await RuleFiles.ReadBoundedAsync(request.Body, cancellationToken).ConfigureAwait(false);
        if (content is null)
        {
            return ApiProblem.Result(StatusCodes.Status413PayloadTooLarge, $"a rule file may be at most {RuleFiles.MaxBytes / 1024} KB");
        }

        if (type is null && content.Length == 0)
        {
            var folder = RuleSet.Load(config.Rules, config.Javascript.Limits);
            return TypedResults.Ok(RuleLintDocument.From(folder));
        }

        var javascript = type is not null && RuleFiles.JavaScriptTypes.Contains(type, StringComparer.OrdinalIgnoreCase);
        if (!javascript && (type is null || !RuleFiles.YamlTypes.Contains(type, StringComparer.OrdinalIgnoreCase)))
        {
            return ApiProblem.Result(StatusCodes.Status415UnsupportedMediaType,
                $"send a rule file as Content-Type: application/yaml or application/javascript (not {type ?? "no content type"}), or nothing to lint the rules folder");
        }

        name ??= javascript ? "rule.js" : "rule.yaml";
        if (RuleFiles.Refusal(name) is { } refusal)
        {
            return ApiProblem.Result(StatusCodes.Status400BadRequest, $"name: {refusal}");
        }

        if (RuleFiles.IsJavaScript(name) != javascript)
        {
            return ApiProblem.Result(StatusCodes.Status400BadRequest,
                $"name: {name} does not fit the content type {type}: a YAML file ends in .yaml or .yml, a JavaScript file in .js");
        }

        return TypedResults.Ok(RuleLintDocument.From(RuleFiles.Load(config, [(name, content)])));
    }

    private static async Task<IResult> TestAsync(
        HttpRequest request, IncomingAnalysis incoming, OutgoingProcessing outgoing, RuleMailConfig config,
        string? direction, string? account, CancellationToken cancellationToken)
    {
        var way = direction switch
        {
            null or "incoming" => RuleDirection.Incoming,
            "outgoing" => RuleDirection.Outgoing,
            _ => (RuleDirection?)null,
        };
        if (way is null)
        {
            return ApiProblem.Result(StatusCodes.Status400BadRequest, $"direction must be incoming or outgoing, not '{LedgerFilter.Shorten(direction!)}'");
        }

        if (!request.HasFormContentType || !request.ContentType!.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            return ApiProblem.Result(StatusCodes.Status415UnsupportedMediaType,
                $"send multipart/form-data with a '{MessagePart}' part (message/rfc822) and optional '{RulesPart}' parts, not {request.ContentType ?? "no content type"}");
        }

        IFormCollection form;
        try
        {
            var reader = new FormFeature(request, new FormOptions { ValueCountLimit = RuleFiles.MaxFiles + 8, MultipartHeadersLengthLimit = 16 * 1024 });
            form = await reader.ReadFormAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidDataException e)
        {
            return ApiProblem.Result(StatusCodes.Status400BadRequest, $"the multipart body cannot be read: {e.Message.TrimEnd('.')}");
        }

        if (form.Keys.Count > 0 || form.Files.FirstOrDefault(f => f.Name is not (MessagePart or RulesPart)) is not null)
        {
            var stray = form.Keys.Concat(form.Files.Select(f => f.Name)).First(n => n is not (MessagePart or RulesPart));
            return ApiProblem.Result(StatusCodes.Status400BadRequest,
                $"'{LedgerFilter.Shorten(stray)}' is not a part this takes: send one '{MessagePart}' file part and optional '{RulesPart}' file parts");
        }

        var messages = form.Files.GetFiles(MessagePart);
        if (messages.Count != 1 || messages[0].Length == 0)
        {
            return ApiProblem.Result(StatusCodes.Status400BadRequest, $"send exactly one non-empty '{MessagePart}' part: the message as received (message/rfc822)");
        }

        if (messages[0].ContentType is { Length: > 0 } messageType && !MessageBody.MediaTypes.Contains(messageType.Split(';')[0].Trim(), StringComparer.OrdinalIgnoreCase))
        {
            return ApiProblem.Result(StatusCodes.Status415UnsupportedMediaType, $"the '{MessagePart}' part must be message/rfc822, not {messageType}");
        }

        RuleSet? rules = null;
        var given = form.Files.GetFiles(RulesPart);
        if (given.Count > 0)
        {
            if (await ReadRulesAsync(given, cancellationToken).ConfigureAwait(false) is not { } files)
            {
                return ApiProblem.Result(StatusCodes.Status400BadRequest, RulesRefusal(given));
            }

            rules = RuleFiles.Load(config, files);
            if (rules.Errors.Count > 0)
            {
                var more = rules.Errors.Count == 1 ? string.Empty : $" (and {rules.Errors.Count - 1} more)";
                return ApiProblem.Result(StatusCodes.Status422UnprocessableEntity,
                    $"{rules.Errors[0].ToString().TrimEnd('.')}{more}: the rules sent do not load, so nothing was run (POST /api/v1/rules/lint lists every problem)");
            }

            if (rules.RuleCount > RuleFiles.MaxRules)
            {
                return ApiProblem.Result(StatusCodes.Status400BadRequest,
                    $"the rules sent hold {rules.RuleCount} rules; a dry run takes at most {RuleFiles.MaxRules}");
            }
        }

        await using var raw = messages[0].OpenReadStream();
        await using var body = await SeekableAsync(raw, cancellationToken).ConfigureAwait(false);
        if (way == RuleDirection.Incoming)
        {
            var address = config.AccountAddress(account, from: null);
            using var verdict = rules is null ? incoming.Analyse(body, address) : incoming.Analyse(body, address, rules);
            return TypedResults.Ok(RuleTestDocument.From(RuleDirection.Incoming, verdict.Security, verdict.Rules).Redacted());
        }

        MimeMessage message;
        try
        {
            message = await MimeMessage.LoadAsync(body, cancellationToken).ConfigureAwait(false);
        }
        catch (FormatException e)
        {
            return ApiProblem.Result(StatusCodes.Status422UnprocessableEntity, $"the message cannot be read: {e.Message.TrimEnd('.')}");
        }

        var from = message.From.Mailboxes.FirstOrDefault()?.Address;
        var evaluation = outgoing.DryRun(message, config.AccountAddress(account, from), rules);
        return TypedResults.Ok(RuleTestDocument.From(RuleDirection.Outgoing, null, evaluation).Redacted());
    }

    /// <summary>The rule parts as files; null when one has a name that is no rule file's, is too big, or there are too many or a name twice.</summary>
    private static async Task<List<(string Name, byte[] Content)>?> ReadRulesAsync(IReadOnlyList<IFormFile> parts, CancellationToken cancellationToken)
    {
        if (parts.Count > RuleFiles.MaxFiles
            || parts.Any(p => RuleFiles.Refusal(p.FileName) is not null || p.Length > RuleFiles.MaxBytes)
            || parts.Select(p => p.FileName).Distinct(StringComparer.OrdinalIgnoreCase).Count() != parts.Count)
        {
            return null;
        }

        var files = new List<(string, byte[])>();
        foreach (var part in parts)
        {
            await using var stream = part.OpenReadStream();
            files.Add((part.FileName, await RuleFiles.ReadBoundedAsync(stream, cancellationToken).ConfigureAwait(false) ?? []));
        }

        return files;
    }

    private static string RulesRefusal(IReadOnlyList<IFormFile> parts)
    {
        if (parts.Count > RuleFiles.MaxFiles)
        {
            return $"{RulesPart}: at most {RuleFiles.MaxFiles} rule files, not {parts.Count}";
        }

        if (parts.FirstOrDefault(p => RuleFiles.Refusal(p.FileName) is not null) is { } badName)
        {
            return $"{RulesPart}: {RuleFiles.Refusal(badName.FileName)}";
        }

        if (parts.FirstOrDefault(p => p.Length > RuleFiles.MaxBytes) is { } big)
        {
            return $"{RulesPart}: {big.FileName} is larger than {RuleFiles.MaxBytes / 1024} KB";
        }

        return $"{RulesPart}: each rule file needs a name of its own (a name came twice)";
    }

    /// <summary>The message part as the seekable stream the analysis reads in place (a buffered form's part already is one).</summary>
    private static async Task<Stream> SeekableAsync(Stream part, CancellationToken cancellationToken)
    {
        if (part.CanSeek)
        {
            return part;
        }

        var buffer = new FileBufferingReadStream(part, 1024 * 1024);
        await buffer.DrainAsync(cancellationToken).ConfigureAwait(false);
        buffer.Position = 0;
        return buffer;
    }
}
