using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RuleMail.Host.State;
using RuleMail.Web.Problems;

namespace RuleMail.Web.Access;

/// <summary>
/// Signs a request in by its bearer token (<see cref="ApiTokens.AuthenticateAsync"/>: known and not revoked), and
/// answers the ones that fail with problem JSON: 401 without a valid token, 403 for a role too small, 429 for an
/// address with too many failures, whatever token it sends (<see cref="FailedSignIns"/>). Never logs the token.
/// </summary>
internal sealed class TokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiTokens tokens,
    FailedSignIns failures)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    private const string BlockedKey = "rulemail:blocked";
    private const string FailureKey = "rulemail:failure";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var address = Request.HttpContext.Connection.RemoteIpAddress ?? IPAddress.None;
        var header = Request.Headers.Authorization.ToString();
        if (header.Length == 0)
        {
            return AuthenticateResult.NoResult();
        }

        if (failures.BlockedFor(address) is { } wait)
        {
            return Blocked(wait);
        }

        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return Failed(address, "the Authorization header must be 'Bearer TOKEN'");
        }

        var token = await tokens.AuthenticateAsync(header["Bearer ".Length..].Trim(), Context.RequestAborted).ConfigureAwait(false);
        if (token is null)
        {
            return Failed(address, "the token is not known, or was revoked");
        }

        // Guesses sent at once are all looked up before their failures count: one that turns out right is refused
        // too once the others have blocked the address, or its answer alone would say which guess was right.
        if (failures.BlockedFor(address) is { } late)
        {
            return Blocked(late);
        }

        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, token.Name), new Claim(ApiAccess.RoleClaim, token.Role.ToString())],
            ApiAccess.Scheme);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), ApiAccess.Scheme));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (Context.Items[BlockedKey] is TimeSpan wait)
        {
            var seconds = ApiProblem.RetryAfter(Response, wait);
            await ApiProblem.WriteAsync(Context, StatusCodes.Status429TooManyRequests,
                $"too many failed authentications from this address: every token from it is refused for {seconds} more seconds").ConfigureAwait(false);
            return;
        }

        Response.Headers.WWWAuthenticate = "Bearer";
        var why = Context.Items[FailureKey] as string ?? "this needs an API token: send 'Authorization: Bearer TOKEN' (rulemail tokens create NAME --role ROLE makes one)";
        await ApiProblem.WriteAsync(Context, StatusCodes.Status401Unauthorized, why).ConfigureAwait(false);
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        var role = ApiAccess.RoleOf(Context.User)?.ToString().ToLowerInvariant() ?? "none";
        await ApiProblem.WriteAsync(Context, StatusCodes.Status403Forbidden,
            $"the token's role ({role}) may not do this; {RequiredRole()}").ConfigureAwait(false);
    }

    private string RequiredRole()
    {
        var endpoint = Context.GetEndpoint();
        var policy = endpoint?.Metadata.GetOrderedMetadata<Microsoft.AspNetCore.Authorization.IAuthorizeData>()
            .Select(a => a.Policy).LastOrDefault(p => p is not null);
        return policy is null ? "ask an administrator for a token with a larger role" : $"it needs the role {policy["rulemail:".Length..]} or above";
    }

    private AuthenticateResult Blocked(TimeSpan wait)
    {
        Context.Items[BlockedKey] = wait;
        return AuthenticateResult.Fail("too many failed authentications from this address");
    }

    private AuthenticateResult Failed(IPAddress address, string why)
    {
        failures.Failed(address);
        Context.Items[FailureKey] = why;
        Logger.LogWarning("Refused an API request from {Address}: {Why}", address, why);
        return AuthenticateResult.Fail(why);
    }
}
