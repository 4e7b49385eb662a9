using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using RuleMail.Host.State;

namespace RuleMail.Web.Access;

/// <summary>
/// The API's access rules: the bearer scheme, one authorization policy per <see cref="ApiRole"/> (each role may do
/// what the roles below it may), and the claims a signed-in token carries.
/// </summary>
public static class ApiAccess
{
    /// <summary>The authentication scheme: <c>Authorization: Bearer rmt_...</c>.</summary>
    public const string Scheme = "Bearer";

    /// <summary>The claim with the token's role, as <see cref="ApiRole"/>'s name.</summary>
    public const string RoleClaim = "rulemail:role";

    /// <summary>The policy name that admits <paramref name="role"/> and every role above it.</summary>
    public static string Policy(ApiRole role) => $"rulemail:{role.ToString().ToLowerInvariant()}";

    /// <summary>The role of a signed-in caller; null when not signed in.</summary>
    public static ApiRole? RoleOf(ClaimsPrincipal user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return user.FindFirst(RoleClaim)?.Value is { } name && Enum.TryParse<ApiRole>(name, out var role) ? role : null;
    }

    /// <summary>The name of the signed-in token (for logs and audit); never the token.</summary>
    public static string? TokenName(ClaimsPrincipal user) => user?.Identity?.Name;

    internal static void AddPolicies(AuthorizationOptions options)
    {
        foreach (var role in Enum.GetValues<ApiRole>())
        {
            options.AddPolicy(Policy(role), policy => policy
                .AddAuthenticationSchemes(Ui.UiAccess.Scheme)
                .RequireAuthenticatedUser()
                .RequireAssertion(context => RoleOf(context.User) is { } held && held >= role));
        }
    }
}
