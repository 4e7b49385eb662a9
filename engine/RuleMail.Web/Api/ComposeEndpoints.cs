using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using MimeKit;
using RuleMail.Application;
using RuleMail.Composer;
using RuleMail.Crypto;
using RuleMail.Host.Configuration;
using RuleMail.Host.State;
using RuleMail.Web.Access;
using RuleMail.Web.Problems;

namespace RuleMail.Web.Api;

/// <summary>
/// <c>POST /api/v1/compose</c>: a message built from its parts, through the outgoing rules and the buttons' logic,
/// signed and encrypted as chosen — the protected <c>message/rfc822</c>, or 422 with the reason, never an
/// unprotected message when protection was asked for or a rule requires it.
/// </summary>
internal static class ComposeEndpoints
{
    /// <summary>The response header that says what was done (e.g. "signed and encrypted with S/MIME").</summary>
    public const string ProtectionHeader = "RuleMail-Protection";

    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/compose", Compose)
            .RequireAuthorization(ApiAccess.Policy(ApiRole.Agent))
            .WithName("compose")
            .WithSummary("Build a signed and/or encrypted message")
            .WithDescription($"The protected message as message/rfc822 (the {ProtectionHeader} header says what was done). With Bcc recipients each gets a copy of their own: the answer is then multipart/mixed, one message/rfc822 part per copy, the To/Cc copy first, each Bcc copy with Content-Description 'copy for ADDRESS'. 422 with the reason when a protection asked for (or required by a rule) is impossible.")
            .Accepts<ComposeRequest>("application/json")
            .Produces(StatusCodes.Status200OK, contentType: "message/rfc822")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);
    }

    private static IResult Compose([FromBody] ComposeRequest request, OutgoingProcessing outgoing, RuleMailConfig config, TimeProvider time)
    {
        if (Prepare(request, config, time, out var message, out var draft, out var choice) is { } refused)
        {
            return refused;
        }

        OutgoingOutcome outcome;
        try
        {
            outcome = outgoing.Process(message!, draft!.Account, choice!);
        }
        catch (FormatException e)
        {
            return ApiProblem.Result(StatusCodes.Status422UnprocessableEntity, e.Message);
        }

        if (outcome.IsHeld)
        {
            return ApiProblem.Result(StatusCodes.Status422UnprocessableEntity, outcome.Hold);
        }

        return new MessageResult(outcome);
    }

    /// <summary>
    /// The message a compose request describes (From, To, Cc, Bcc, Subject, text, HTML, attachments), its draft and the
    /// composer's choice; a 422 problem naming the field when the request is not one that could be sent.
    /// </summary>
    internal static ProblemHttpResult? Prepare(
        ComposeRequest request, RuleMailConfig config, TimeProvider time, out MimeMessage? message, out OutgoingDraft? draft, out OutgoingChoice? choice)
    {
        message = null;
        choice = null;
        if (OptionsEndpoints.Draft(request.From, request.To, request.Cc, request.Bcc, request.Account, config, out draft) is { } refused)
        {
            return refused;
        }

        if (draft!.To.Count + draft.Cc.Count + draft.Bcc.Count == 0)
        {
            return ApiProblem.Result(StatusCodes.Status422UnprocessableEntity, "to: at least one recipient is required");
        }

        SecurityType? type = null;
        if (request.Type is not null)
        {
            if (!SecurityTypes.TryParse(request.Type, out var parsed))
            {
                return ApiProblem.Result(StatusCodes.Status422UnprocessableEntity, $"type must be smime or pgp, not '{request.Type}'");
            }

            type = parsed;
        }

        var attachments = new List<MessageContent.Attachment>();
        foreach (var (attachment, i) in (request.Attachments ?? []).Select((a, i) => (a, i)))
        {
            if (attachment is not { Name: { Length: > 0 } name, Data: { } data })
            {
                return ApiProblem.Result(StatusCodes.Status422UnprocessableEntity, $"attachments[{i}]: name and data (base64) are required");
            }

            if (attachment.Type is { } media && !ContentType.TryParse(media, out _))
            {
                return ApiProblem.Result(StatusCodes.Status422UnprocessableEntity, $"attachments[{i}].type: '{media}' is not a media type");
            }

            attachments.Add(new MessageContent.Attachment(name, attachment.Type, data));
        }

        var content = new MessageContent(request.Subject ?? "", request.Text ?? "") { Html = request.Html, Attachments = attachments };
        choice = new OutgoingChoice { Sign = request.Sign, Encrypt = request.Encrypt, Type = type?.Name() };
        try
        {
            message = content.Build(draft, time);
        }
        catch (FormatException e)
        {
            return ApiProblem.Result(StatusCodes.Status422UnprocessableEntity, e.Message);
        }

        return null;
    }

    /// <summary>Writes the copies: one as message/rfc822, several as multipart/mixed of message/rfc822 parts.</summary>
    private sealed class MessageResult(OutgoingOutcome outcome) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.Headers[ProtectionHeader] = Ascii(outcome.Description ?? "");
            if (outcome.Copies.Count == 1)
            {
                response.ContentType = "message/rfc822";
                await outcome.Copies[0].Message.WriteToAsync(response.Body, httpContext.RequestAborted).ConfigureAwait(false);
                return;
            }

            var all = new Multipart("mixed");
            foreach (var copy in outcome.Copies)
            {
                var part = new MessagePart { Message = copy.Message };
                part.Headers[HeaderId.ContentDescription] = copy.BccRecipient is null ? "copy for To and Cc" : $"copy for {copy.BccRecipient}";
                all.Add(part);
            }

            response.ContentType = $"multipart/mixed; boundary=\"{all.Boundary}\"";
            await all.WriteToAsync(FormatOptions.Default, response.Body, contentOnly: true, httpContext.RequestAborted).ConfigureAwait(false);
        }

        private static string Ascii(string text) =>
            string.Concat(text.Where(c => c is >= ' ' and <= '~'));
    }
}
