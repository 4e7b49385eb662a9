using System.Security.Claims;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using RuleMail.Host.State;
using RuleMail.Web.Access;

namespace RuleMail.Web.Ui;

/// <summary>
/// The web UI's session: a token typed into the sign-in form becomes an HttpOnly, SameSite=Strict cookie (Secure when
/// the request came over TLS) carrying the token's name, role and SHA-256 — never the token — and a session id.
/// Every request with the cookie checks that the token is still live (a revoked token ends its sessions at once) and
/// that the session was not signed out (<see cref="EndedSessions"/>). The cookie is protected
/// with keys that live only in this process's memory: nothing secret is written to disk, and a restart signs
/// everyone out. Requests that change something with the cookie need the antiforgery token (<see cref="CsrfHeader"/>).
/// </summary>
internal static class UiAccess
{
    /// <summary>The cookie scheme of the UI's sessions.</summary>
    public const string CookieScheme = "RuleMail.Session";

    /// <summary>The scheme the API's policies use: bearer when an Authorization header is sent, the session cookie otherwise.</summary>
    public const string Scheme = "RuleMail";

    /// <summary>The request header with the antiforgery token, for the UI's requests that change something.</summary>
    public const string CsrfHeader = "X-CSRF-Token";

    /// <summary>The form field with the antiforgery token (the sign-in form).</summary>
    public const string CsrfField = "__RequestVerificationToken";

    /// <summary>How long a session lasts without a request (each request renews it).</summary>
    public static readonly TimeSpan SessionLifetime = TimeSpan.FromHours(8);

    private const string TokenHashClaim = "rulemail:token-sha256";
    private const string SessionClaim = "rulemail:session";

    /// <summary>
    /// The session cookie's name: over TLS with the <c>__Host-</c> prefix, which browsers accept only from a secure
    /// origin, for the whole host and no other domain — so another web service on the same host (cookies ignore ports)
    /// or a sibling domain cannot plant a session of its own in the browser. Plain HTTP cannot have the prefix.
    /// </summary>
    public static string SessionCookie(bool tls) => tls ? "__Host-rulemail.session" : "rulemail.session";

    /// <summary>The antiforgery cookie's name, prefixed as <see cref="SessionCookie"/>.</summary>
    public static string AntiforgeryCookie(bool tls) => tls ? "__Host-rulemail.antiforgery" : "rulemail.antiforgery";

    /// <param name="tls">True when the service answers over HTTPS only (<c>http.tls</c>): the cookies are then always Secure and host-only.</param>
    public static void AddUiAccess(this IServiceCollection services, bool tls)
    {
        var secure = tls ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
        // Keys in memory only: no unencrypted key ring at rest, and sessions end with the process.
        services.AddSingleton<IDataProtectionProvider>(new EphemeralDataProtectionProvider());
        services.AddSingleton<EndedSessions>();
        services.AddSingleton<SignInPace>();
        services.AddAntiforgery(o =>
        {
            o.HeaderName = CsrfHeader;
            o.FormFieldName = CsrfField;
            o.Cookie.Name = AntiforgeryCookie(tls);
            o.Cookie.Path = "/";
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = secure;
            o.SuppressXFrameOptionsHeader = false;
        });
        services.AddAuthentication(Scheme)
            .AddPolicyScheme(Scheme, "bearer token or UI session", o =>
            {
                o.ForwardDefaultSelector = context => context.Request.Headers.Authorization.Count > 0 ? ApiAccess.Scheme : CookieScheme;

                // One answer for a missing or too small right, whichever way the caller signed in: problem JSON.
                o.ForwardChallenge = ApiAccess.Scheme;
                o.ForwardForbid = ApiAccess.Scheme;
            })
            .AddScheme<AuthenticationSchemeOptions, TokenAuthenticationHandler>(ApiAccess.Scheme, null)
            .AddCookie(CookieScheme, o =>
            {
                o.Cookie.Name = SessionCookie(tls);
                o.Cookie.Path = "/";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Strict;
                o.Cookie.SecurePolicy = secure;
                o.ExpireTimeSpan = SessionLifetime;
                o.SlidingExpiration = true;
                o.Events = new CookieAuthenticationEvents { OnValidatePrincipal = StillLiveAsync };
            });
    }

    /// <summary>The principal of a signed-in token, as the cookie keeps it: a new session unless <paramref name="session"/> is given.</summary>
    public static ClaimsPrincipal Principal(ApiToken token, string? session = null) => new(new ClaimsIdentity(
        [
            new Claim(ClaimTypes.Name, token.Name),
            new Claim(ApiAccess.RoleClaim, token.Role.ToString()),
            new Claim(TokenHashClaim, token.Sha256),
            new Claim(SessionClaim, session ?? Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16))),
        ],
        CookieScheme));

    /// <summary>The session a signed-in principal belongs to; null when it has none.</summary>
    public static string? SessionOf(ClaimsPrincipal user) => user.FindFirst(SessionClaim)?.Value;

    /// <summary>True when the request was signed in by the UI's cookie (so it needs the antiforgery token to change anything).</summary>
    public static bool BySession(ClaimsPrincipal user) =>
        user.Identities.Any(i => i.IsAuthenticated && i.AuthenticationType == CookieScheme);

    /// <summary>The antiforgery token for the caller, with its cookie set on the response.</summary>
    public static string? CsrfToken(HttpContext context) =>
        context.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(context).RequestToken;

    private static async Task StillLiveAsync(CookieValidatePrincipalContext context)
    {
        var services = context.HttpContext.RequestServices;
        var hash = context.Principal?.FindFirst(TokenHashClaim)?.Value;
        var session = context.Principal is { } principal ? SessionOf(principal) : null;
        var token = hash is null || session is null || services.GetRequiredService<EndedSessions>().IsEnded(session)
            ? null
            : await services.GetRequiredService<ApiTokens>().FindLiveAsync(hash, context.HttpContext.RequestAborted).ConfigureAwait(false);
        if (token is null || context.Principal?.Identity?.Name != token.Name)
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(CookieScheme).ConfigureAwait(false);
            return;
        }

        // The role may have been changed by re-creating the token; the state's word wins.
        if (ApiAccess.RoleOf(context.Principal!) != token.Role)
        {
            context.ReplacePrincipal(Principal(token, session));
            context.ShouldRenew = true;
        }
    }
}
