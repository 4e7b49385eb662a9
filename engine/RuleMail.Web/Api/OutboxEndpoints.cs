using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using RuleMail.Host.Configuration;
using RuleMail.Host.Processing;
using RuleMail.Host.State;
using RuleMail.Json;
using RuleMail.Web.Access;
using RuleMail.Web.Problems;

namespace RuleMail.Web.Api;

/// <summary>
/// The outbox over HTTP: <c>POST /api/v1/accounts/{name}/outbox</c> enqueues a message for the account's send job
/// (the same path as a file dropped in its outbox folder: the outgoing rules, the choice headers and the key store
/// decide, and it is sent once or held with its reason); <c>GET /api/v1/outbox</c> and <c>GET /api/v1/outbox/{id}</c>
/// show where messages stand; <c>POST /api/v1/outbox/{id}/release</c> tries a held or failed one again.
/// </summary>
internal static class OutboxEndpoints
{
    private const int DefaultLimit = 100;
    private const int MaxLimit = 1000;

    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/accounts/{name}/outbox", EnqueueAsync)
            .RequireAuthorization(ApiAccess.Policy(ApiRole.Agent))
            .WithName("enqueue")
            .WithSummary("Put a message in an account's outbox")
            .WithDescription("The body is the whole message (message/rfc822) as a ticket system would drop it in the outbox folder, optionally with the composer's choice as the headers X-RuleMail-Sign: yes|no, X-RuleMail-Encrypt: yes|no and X-RuleMail-Type: smime|pgp (removed before sending; without them the outgoing rules decide); or a JSON object like POST /compose takes (from, to, cc, bcc, subject, text, html, attachments, sign, encrypt, type), which is built into that message. 202 with the queued message and its Location; the account's send job is started at once when this process runs the jobs (rulemail run), else the next rulemail run sends it (rulemail serve: the reason says so). Idempotent: the same message enqueued again for the account answers 200 with the message as it stands (sent, even) and is never sent twice. 422 when the body is not a message that could be sent.")
            .AcceptsMessage()
            .Produces<OutboxEntryDocument>(StatusCodes.Status202Accepted)
            .Produces<OutboxEntryDocument>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

        api.MapGet("/outbox", ListAsync)
            .WithName("outbox")
            .WithSummary("Outbox messages, most recently changed first")
            .WithDescription($"state: queued, sending, sent, held or failed; account: one account's; limit: at most this many (1 to {MaxLimit}, default {DefaultLimit}).")
            .Produces<OutboxListDocument>()
            .ProducesProblem(StatusCodes.Status400BadRequest);

        api.MapGet("/outbox/{id}", FindAsync)
            .WithName("outbox-message")
            .WithSummary("One outbox message: its state and why")
            .WithDescription("id: as enqueueing answered it (a dropped file's name without .eml). account: needed only when the id names messages of several accounts (dropped files of the same name).")
            .Produces<OutboxEntryDocument>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        api.MapPost("/outbox/{id}/release", ReleaseAsync)
            .RequireAuthorization(ApiAccess.Policy(ApiRole.Agent))
            .WithName("release")
            .WithSummary("Try a held or failed message again")
            .WithDescription("Puts the message back in the outbox as queued (its attempts start again) and starts the send job, which judges it again with the rules and keys of now (for example after the recipient's key was imported): held again when a required protection is still impossible, never sent without it. 409 when it is not held or failed.")
            .Produces<OutboxEntryDocument>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
    }

    private static async Task<IResult> EnqueueAsync(
        string name, HttpContext context, Outboxes outbox, RuleMailConfig config, TimeProvider time, IOptions<JsonOptions> json, CancellationToken cancellationToken)
    {
        Stream? body;
        if (context.Request.HasJsonContentType())
        {
            // The web UI's composer: the same body as POST /compose, built here and queued with the choice in its headers.
            var request = await context.Request.ReadFromJsonAsync<ComposeRequest>(json.Value.SerializerOptions, cancellationToken).ConfigureAwait(false);
            if (request is null)
            {
                return ApiProblem.Result(StatusCodes.Status400BadRequest, "the body must be a JSON object like POST /api/v1/compose takes");
            }

            if (ComposeEndpoints.Prepare(request with { Account = request.Account ?? name }, config, time, out var message, out _, out var choice) is { } refused)
            {
                return refused;
            }

            choice!.WriteHeaders(message!);
            var written = new MemoryStream();
            await message!.WriteToAsync(written, cancellationToken).ConfigureAwait(false);
            written.Position = 0;
            body = written;
        }
        else
        {
            (body, var refusal) = await MessageBody.ReadAsync(context.Request, cancellationToken).ConfigureAwait(false);
            if (refusal is not null)
            {
                return refusal;
            }
        }

        var outcome = await outbox.EnqueueAsync(name, body!, ApiAccess.TokenName(context.User), cancellationToken).ConfigureAwait(false);
        if (outcome.Item is not { } item)
        {
            return Refused(outcome);
        }

        var document = OutboxDocuments.From(item);
        if (outcome.Existing)
        {
            context.Response.Headers.Location = document.Location;
            return TypedResults.Ok(document);
        }

        return TypedResults.Accepted(document.Location, document);
    }

    private static async Task<IResult> ListAsync(Outboxes outbox, string? state, string? account, string? limit, CancellationToken cancellationToken)
    {
        OutboxState? selected = null;
        if (state is not null)
        {
            selected = Outboxes.ParseState(state);
            if (selected is null)
            {
                return ApiProblem.Result(StatusCodes.Status400BadRequest, $"state must be queued, sending, sent, held or failed, not '{Shorten(state)}'");
            }
        }

        var count = DefaultLimit;
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count is < 1 or > MaxLimit))
        {
            return ApiProblem.Result(StatusCodes.Status400BadRequest, $"limit must be a whole number from 1 to {MaxLimit}, not '{Shorten(limit)}'");
        }

        var items = await outbox.ListAsync(account, selected, count, cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(new OutboxListDocument([.. items.Select(OutboxDocuments.From)]));
    }

    private static async Task<IResult> FindAsync(string id, string? account, Outboxes outbox, CancellationToken cancellationToken)
    {
        var outcome = await outbox.FindAsync(id, account, cancellationToken).ConfigureAwait(false);
        return outcome.Item is { } item ? TypedResults.Ok(OutboxDocuments.From(item)) : Refused(outcome);
    }

    private static async Task<IResult> ReleaseAsync(string id, string? account, HttpContext context, Outboxes outbox, CancellationToken cancellationToken)
    {
        var outcome = await outbox.ReleaseAsync(id, account, ApiAccess.TokenName(context.User), cancellationToken).ConfigureAwait(false);
        if (outcome.Item is not { } item)
        {
            return Refused(outcome);
        }

        var document = OutboxDocuments.From(item);
        return TypedResults.Accepted(document.Location, document);
    }

    private static IResult Refused(OutboxOutcome outcome) => ApiProblem.Result(
        outcome.Refusal switch
        {
            OutboxRefusal.UnknownAccount or OutboxRefusal.UnknownId => StatusCodes.Status404NotFound,
            OutboxRefusal.NotAMessage => StatusCodes.Status422UnprocessableEntity,
            _ => StatusCodes.Status409Conflict,
        },
        outcome.Detail ?? "refused");

    /// <summary>A query value as quoted back: short enough for one line.</summary>
    private static string Shorten(string value) => value.Length <= 40 ? value : value[..40] + "...";
}
