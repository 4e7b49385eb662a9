using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace RuleMail.Web.Problems;

/// <summary>
/// The API's one error shape: RFC 9457 <c>application/problem+json</c> with the status's title and one clear
/// <c>detail</c> line (what was wrong and where), never a stack trace.
/// </summary>
public static class ApiProblem
{
    /// <summary>A problem answer for an endpoint to return.</summary>
    public static ProblemHttpResult Result(int status, string detail) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: Title(status));

    /// <summary>Writes a problem answer outside an endpoint (authentication, the exception handler).</summary>
    public static async Task WriteAsync(HttpContext context, int status, string detail)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.StatusCode = status;
        var problems = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails { Status = status, Title = Title(status), Detail = detail },
        }).ConfigureAwait(false);
    }

    /// <summary>The reason phrase of a status (RFC 9110), the problem's title.</summary>
    public static string Title(int status) =>
        Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase ? phrase : "Error";
}
