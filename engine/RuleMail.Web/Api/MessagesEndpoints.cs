using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Microsoft.AspNetCore.Routing;
using RuleMail.Host.Processing;
using RuleMail.Host.Scheduling;
using RuleMail.Host.State;
using RuleMail.Json;
using RuleMail.Web.Access;
using RuleMail.Web.Problems;

namespace RuleMail.Web.Api;

/// <summary>
/// The ledger and re-judging: <c>GET /api/v1/messages</c> (every processed message, newest first, filtered and paged),
/// <c>GET /api/v1/messages/{id}</c> (one, with every analysis and its side effects), and <c>POST
/// /api/v1/messages/{id}/retry</c> and <c>POST /api/v1/retry</c> (judge again with today's keys and rules, as
/// <c>rulemail retry</c> does, through the same account runner, so a retry and the scheduled fetch of an account take
/// turns and each analysis version's side effects happen once).
/// </summary>
internal static class MessagesEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/messages", ListAsync)
            .WithName("messages")
            .WithSummary("The ledger: processed messages, newest first")
            .WithDescription($"Each message with its security result and decision (as stored), tags and the side effects of its current analysis. account: one account's. status: comma-separated words — security outcomes ({string.Join(", ", LedgerFilter.SecurityWords.Keys)}) and/or states ({string.Join(", ", LedgerFilter.StateWords.Keys)}); words of one kind are alternatives, both kinds must hold. since: ISO-8601 (first seen at or after). limit: 1 to {LedgerFilter.MaxLimit} (default {LedgerFilter.DefaultLimit}). after: the previous page's next.")
            .Produces<LedgerListDocument>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
        api.MapGet("/messages/{id}", GetAsync)
            .WithName("message")
            .WithSummary("One processed message with every analysis and its side effects")
            .Produces<LedgerEntryDocument>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.MapPost("/messages/{id}/retry", RetryOneAsync)
            .RequireAuthorization(ApiAccess.Policy(ApiRole.Admin))
            .WithName("retry-message")
            .WithSummary("Judge one processed message again with today's keys and rules")
            .WithDescription("As rulemail retry --message KEY: when the result differs it is recorded as the next analysis and only the difference is carried out, once (the keyword comes off, the message goes back from Quarantine, the new webhooks run). The answer is the retry --json document.")
            .Produces<RetryDocument>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        api.MapPost("/retry", RetryAsync)
            .RequireAuthorization(ApiAccess.Policy(ApiRole.Admin))
            .WithName("retry")
            .WithSummary("Judge processed messages again with today's keys and rules")
            .WithDescription("As rulemail retry: account (default every account that fetches), messages (ids; default every message whose signature or decryption failed), security_failed (only those among them). The answer is the retry --json document.")
            .Accepts<RetryRequest>("application/json")
            .Produces<RetryDocument>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
    }

    private static async Task<Results<Ok<LedgerListDocument>, ProblemHttpResult>> ListAsync(
        IStateStore state, string? account, [FromQuery] string[]? status, string? since, string? limit, string? after, CancellationToken cancellationToken)
    {
        LedgerKey? cursor = null;
        if (after is not null)
        {
            if (await FindAsync(state, after, cancellationToken).ConfigureAwait(false) is not { } last)
            {
                return ApiProblem.Result(StatusCodes.Status400BadRequest, "after: not a message of the ledger; pass the next of the previous page");
            }

            cursor = new LedgerKey(last.Account, last.Folder, last.SourceKey);
        }

        if (LedgerFilter.TryRead(account, new Microsoft.Extensions.Primitives.StringValues(status), since, limit, cursor, out var query) is { } refused)
        {
            return refused;
        }

        // One more than asked tells whether a next page exists without a count over the table.
        var entries = await state.ListMessagesAsync(query with { Limit = query.Limit + 1 }, cancellationToken).ConfigureAwait(false);
        var page = entries.Take(query.Limit).ToList();
        var messages = new List<LedgerMessageDocument>(page.Count);
        foreach (var entry in page)
        {
            var effects = await state.SideEffectsAsync(entry.Account, entry.Folder, entry.SourceKey, cancellationToken).ConfigureAwait(false);
            messages.Add(LedgerDocuments.Message(entry, effects));
        }

        return TypedResults.Ok(new LedgerListDocument(messages, entries.Count > query.Limit ? messages[^1].Id : null));
    }

    private static async Task<Results<Ok<LedgerEntryDocument>, ProblemHttpResult>> GetAsync(
        string id, IStateStore state, CancellationToken cancellationToken)
    {
        if (!LedgerId.TryParse(id, out _, out _, out _))
        {
            return NotAnId(id);
        }

        if (await FindAsync(state, id, cancellationToken).ConfigureAwait(false) is not { } entry)
        {
            return NotFound();
        }

        var effects = await state.SideEffectsAsync(entry.Account, entry.Folder, entry.SourceKey, cancellationToken).ConfigureAwait(false);
        var analyses = await state.AnalysesAsync(entry.Account, entry.Folder, entry.SourceKey, cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(new LedgerEntryDocument(
            LedgerDocuments.Message(entry, effects),
            [.. analyses.Select(a => LedgerDocuments.Analysis(a, effects))]));
    }

    private static async Task<Results<Ok<RetryDocument>, ProblemHttpResult>> RetryOneAsync(
        string id, IStateStore state, HostRuntime runtime, CancellationToken cancellationToken)
    {
        if (!LedgerId.TryParse(id, out _, out _, out _))
        {
            return NotAnId(id);
        }

        if (await FindAsync(state, id, cancellationToken).ConfigureAwait(false) is not { } entry)
        {
            return NotFound();
        }

        if (Runner(runtime, entry.Account) is not { } runner)
        {
            return ApiProblem.Result(StatusCodes.Status409Conflict,
                $"the account {entry.Account} does not fetch mail in this configuration, so its messages cannot be read to judge them again");
        }

        var key = new LedgerKey(entry.Account, entry.Folder, entry.SourceKey);
        var report = await runner.RetryAsync(new RetrySelection { SourceKeys = [entry.SourceKey] }, null, cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(Document([report], [(key, id)]));
    }

    private static async Task<Results<Ok<RetryDocument>, ProblemHttpResult>> RetryAsync(
        [FromBody(EmptyBodyBehavior = EmptyBodyBehavior.Allow)] RetryRequest? request, HostRuntime runtime, CancellationToken cancellationToken)
    {
        request ??= new RetryRequest();
        var fetching = runtime.Accounts.Where(a => a.Fetches).ToList();
        if (request.Account is { } named && Runner(runtime, named) is null)
        {
            return ApiProblem.Result(StatusCodes.Status400BadRequest,
                $"account: no account named '{LedgerFilter.Shorten(named)}' fetches mail (accounts that do: {(fetching.Count == 0 ? "none" : string.Join(", ", fetching.Select(a => a.Account.Name)))})");
        }

        // Messages asked for by id, by account: only their accounts are judged, each for its own messages only.
        var asked = new List<(LedgerKey Key, string Id)>();
        foreach (var (id, i) in (request.Messages ?? []).Select((id, i) => (id, i)))
        {
            if (!LedgerId.TryParse(id, out var account, out var folder, out var sourceKey))
            {
                return ApiProblem.Result(StatusCodes.Status400BadRequest, $"messages[{i}]: not a message id (take it from GET /api/v1/messages)");
            }

            if (request.Account is { } only && !string.Equals(only, account, StringComparison.Ordinal))
            {
                return ApiProblem.Result(StatusCodes.Status400BadRequest, $"messages[{i}]: the message is of the account {account}, not {only}");
            }

            if (Runner(runtime, account) is null)
            {
                return ApiProblem.Result(StatusCodes.Status400BadRequest,
                    $"messages[{i}]: the account {account} does not fetch mail in this configuration, so its messages cannot be read to judge them again");
            }

            asked.Add((new LedgerKey(account, folder, sourceKey), id));
        }

        var reports = new List<RetryReport>();
        foreach (var runner in fetching)
        {
            var name = runner.Account.Name;
            RetrySelection selection;
            if (asked.Count > 0)
            {
                var keys = asked.Where(a => a.Key.Account == name).Select(a => a.Key.SourceKey).Distinct(StringComparer.Ordinal).ToList();
                if (keys.Count == 0)
                {
                    continue; // An empty selection would mean every failed message of the account.
                }

                selection = new RetrySelection { SourceKeys = keys, SecurityFailed = request.SecurityFailed ?? false };
            }
            else if (request.Account is { } only && only != name)
            {
                continue;
            }
            else
            {
                selection = new RetrySelection { SecurityFailed = request.SecurityFailed ?? false };
            }

            reports.Add(await runner.RetryAsync(selection, null, cancellationToken).ConfigureAwait(false));
        }

        return TypedResults.Ok(Document(reports, asked));
    }

    /// <summary>The retry document, with the asked-for messages the retry did not come to by their ids.</summary>
    private static RetryDocument Document(List<RetryReport> reports, List<(LedgerKey Key, string Id)> asked)
    {
        // The selection is by source key in the account; only the entries asked for count (another folder may share a key).
        var judged = reports.SelectMany(r => r.Messages).Select(m => new LedgerKey(m.Account, m.Folder, m.SourceKey)).ToHashSet();
        var missing = asked.Where(a => !judged.Contains(a.Key)).Select(a => a.Id).Distinct(StringComparer.Ordinal).ToList();
        return RetryDocuments.From(reports, missing);
    }

    private static AccountRunner? Runner(HostRuntime runtime, string account) =>
        runtime.Accounts.FirstOrDefault(a => a.Fetches && string.Equals(a.Account.Name, account, StringComparison.Ordinal));

    /// <summary>The entry with this id (fetched under its folder and key, not one a move put there); null when there is none or it is no id.</summary>
    private static async Task<LedgerEntry?> FindAsync(IStateStore state, string id, CancellationToken cancellationToken)
    {
        if (!LedgerId.TryParse(id, out var account, out var folder, out var sourceKey))
        {
            return null;
        }

        var found = await state.FindMessagesAsync(account, folder, [sourceKey], cancellationToken).ConfigureAwait(false);
        return found.TryGetValue(sourceKey, out var entry) && entry.Folder == folder && entry.SourceKey == sourceKey ? entry : null;
    }

    private static ProblemHttpResult NotAnId(string id) =>
        ApiProblem.Result(StatusCodes.Status400BadRequest, $"'{LedgerFilter.Shorten(id)}' is not a message id (take it from GET /api/v1/messages)");

    private static ProblemHttpResult NotFound() =>
        ApiProblem.Result(StatusCodes.Status404NotFound, "no processed message has this id");
}
