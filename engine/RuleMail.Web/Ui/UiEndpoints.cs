using System.Net;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;
using RuleMail.Host.Configuration;
using RuleMail.Host.State;
using RuleMail.Web.Access;
using RuleMail.Web.Problems;

namespace RuleMail.Web.Ui;

/// <summary>
/// The web UI: its pages and scripts (embedded in this assembly, served at <c>/</c>; nothing from elsewhere) and its
/// session endpoints — <c>GET /ui/session</c> (who is signed in, the antiforgery token, the accounts),
/// <c>POST /ui/session</c> (the sign-in form: a token) and <c>POST /ui/session/end</c> (sign out). Everything the pages
/// show and do goes through <c>/api/v1</c>, where the roles are enforced.
/// </summary>
internal static class UiEndpoints
{
    private const int MaxSignInBytes = 4096;

    public static void Map(WebApplication app)
    {
        var files = new EmbeddedFileProvider(typeof(UiEndpoints).Assembly, "RuleMail.Web.wwwroot");
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,

            // Always revalidated (ETag), so a new version of RuleMail never runs with an old script.
            OnPrepareResponse = c => c.Context.Response.Headers.CacheControl = "no-cache",
        });

        var ui = app.MapGroup("/ui").ExcludeFromDescription();
        ui.MapGet("/session", Session).AllowAnonymous();
        ui.MapPost("/session", SignInAsync).AllowAnonymous();
        ui.MapPost("/session/end", SignOutAsync).AllowAnonymous();
    }

    private static IResult Blocked(HttpContext context, TimeSpan wait) => ApiProblem.Result(StatusCodes.Status429TooManyRequests,
        $"too many failed sign-ins from this address: every token from it is refused for {ApiProblem.RetryAfter(context.Response, wait)} more seconds");

    private static IResult Session(HttpContext context, RuleMailConfig config) =>
        TypedResults.Ok(Document(context, config));

    private static async Task<IResult> SignInAsync(
        HttpContext context, IAntiforgery antiforgery, ApiTokens tokens, FailedSignIns failures, SignInPace pace, RuleMailConfig config, ILoggerFactory logs)
    {
        var address = context.Connection.RemoteIpAddress ?? IPAddress.None;
        if (failures.BlockedFor(address) is { } wait)
        {
            return Blocked(context, wait);
        }

        if (!context.Request.HasFormContentType || context.Request.ContentLength is null or > MaxSignInBytes)
        {
            return ApiProblem.Result(StatusCodes.Status400BadRequest, "sign in with the form: a token field and the antiforgery token, at most 4 KB");
        }

        if (await Refused(context, antiforgery).ConfigureAwait(false) is { } refused)
        {
            return refused;
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        var token = await tokens.AuthenticateAsync(form["token"].ToString().Trim(), context.RequestAborted).ConfigureAwait(false);
        if (token is null)
        {
            failures.Failed(address);
            logs.CreateLogger("RuleMail.Web.Ui").LogWarning("Refused a sign-in from {Address}: unknown or revoked token", address);
            return ApiProblem.Result(StatusCodes.Status401Unauthorized, "the token is not known, or was revoked");
        }

        // As for the API: a right guess among a burst of wrong ones is refused once they have blocked the address.
        if (failures.BlockedFor(address) is { } late)
        {
            return Blocked(context, late);
        }

        if (pace.Take(token.Name) is { } again)
        {
            return ApiProblem.Result(StatusCodes.Status429TooManyRequests,
                $"the token {token.Name} signed in {SignInPace.PerWindow} times within a minute; sign in again in {ApiProblem.RetryAfter(context.Response, again)} seconds");
        }

        var principal = UiAccess.Principal(token);
        await context.SignInAsync(UiAccess.CookieScheme, principal).ConfigureAwait(false);

        // The antiforgery token is bound to who is signed in: hand out the new one with the session.
        context.User = principal;
        return TypedResults.Ok(Document(context, config));
    }

    private static async Task<IResult> SignOutAsync(HttpContext context, IAntiforgery antiforgery, EndedSessions ended)
    {
        var result = await context.AuthenticateAsync(UiAccess.CookieScheme).ConfigureAwait(false);
        if (result.Succeeded)
        {
            context.User = result.Principal;
            if (await Refused(context, antiforgery).ConfigureAwait(false) is { } refused)
            {
                return refused;
            }

            // Ended on the server too: a copy of the cookie opens nothing from now on.
            if (UiAccess.SessionOf(result.Principal) is { } session)
            {
                ended.End(session);
            }

            await context.SignOutAsync(UiAccess.CookieScheme).ConfigureAwait(false);
        }

        // Without a live session nothing is ended and no cookie is cleared: a page elsewhere posting here (the
        // browser sends no SameSite=Strict cookie then, yet would take a clearing answer) cannot sign anyone out.
        return TypedResults.NoContent();
    }

    /// <summary>A 400 problem when the request does not carry the caller's antiforgery token; null when it does.</summary>
    public static async Task<IResult?> Refused(HttpContext context, IAntiforgery antiforgery)
    {
        try
        {
            await antiforgery.ValidateRequestAsync(context).ConfigureAwait(false);
            return null;
        }
        catch (AntiforgeryValidationException)
        {
            return ApiProblem.Result(StatusCodes.Status400BadRequest,
                $"the antiforgery token is missing or does not match this session; reload the page (scripts send it as {UiAccess.CsrfHeader})");
        }
    }

    private static UiSession Document(HttpContext context, RuleMailConfig config)
    {
        var user = context.User;
        var signedIn = UiAccess.BySession(user);
        return new UiSession(
            signedIn,
            signedIn ? ApiAccess.TokenName(user) : null,
            signedIn ? ApiAccess.RoleOf(user)?.ToString().ToLowerInvariant() : null,
            UiAccess.CsrfToken(context),
            signedIn ? [.. config.Accounts.Select(a => new UiAccount(a.Name, a.Address, a.Fetch is not null, a.Send is not null))] : [],
            (config.Http ?? new HttpConfig()).MaxMessageMb);
    }
}

/// <summary>The body of <c>GET /ui/session</c>: who is signed in (null when nobody), the antiforgery token and the accounts.</summary>
internal sealed record UiSession(bool SignedIn, string? Name, string? Role, string? Csrf, IReadOnlyList<UiAccount> Accounts, int MaxMessageMb);

/// <summary>An account as the composer's From list shows it: whether it fetches and whether it has an outbox.</summary>
internal sealed record UiAccount(string Name, string Address, bool Fetches, bool Sends);
