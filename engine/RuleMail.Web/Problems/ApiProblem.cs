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

    /// <summary>Sets <c>Retry-After</c> to <paramref name="wait"/> in whole seconds (at least 1) and returns them, for a 429's detail.</summary>
    public static string RetryAfter(HttpResponse response, TimeSpan wait)
    {
        ArgumentNullException.ThrowIfNull(response);
        var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.Headers.RetryAfter = seconds;
        return seconds;
    }

    /// <summary>
    /// Gives the answers ASP.NET Core makes itself (no route, wrong method, a body type the operation does not take)
    /// the one clear line every RuleMail problem has.
    /// </summary>
    internal static void Explain(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        problem.Title ??= Title(problem.Status ?? 500);
        if (problem.Detail is not null)
        {
            return;
        }

        var request = context.HttpContext.Request;
        problem.Detail = problem.Status switch
        {
            StatusCodes.Status404NotFound => $"there is nothing at {request.Path} (/openapi/v1.json lists every operation)",
            StatusCodes.Status405MethodNotAllowed => $"{request.Method} is not allowed on {request.Path} (/openapi/v1.json lists every operation)",
            StatusCodes.Status415UnsupportedMediaType =>
                $"{request.Path} does not take {(request.ContentType is { Length: > 0 } type ? $"Content-Type {type}" : "a body without a Content-Type")}; "
                + "messages are message/rfc822, other bodies application/json (/openapi/v1.json says which)",
            _ => Title(problem.Status ?? 500),
        };
    }

    /// <summary>The reason phrase of a status (RFC 9110), the problem's title.</summary>
    public static string Title(int status) =>
        Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase ? phrase : "Error";
}
