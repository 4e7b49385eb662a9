using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using RuleMail.Host.Configuration;

namespace RuleMail.Web.Problems;

/// <summary>
/// Turns what an endpoint could not handle into one problem answer: a request Kestrel or a parameter binder refused
/// keeps its status (413 for a body over <c>http.max_message_mb</c>, 400 for JSON of the wrong shape) with a line
/// that says why; a <see cref="RuleMailException"/> (an operational failure with its own clear message) is 503 when
/// the state or a server is away and 422 otherwise; anything else is a 500 that only says it was logged.
/// </summary>
internal sealed class ApiExceptionHandler(ILogger<ApiExceptionHandler> logger, RuleMailConfig config) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var (status, detail) = exception switch
        {
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } =>
                (StatusCodes.Status413PayloadTooLarge, $"the request body is larger than http.max_message_mb ({(config.Http ?? new HttpConfig()).MaxMessageMb} MB)"),
            BadHttpRequestException { InnerException: JsonException json } bad => (bad.StatusCode, JsonProblem.Describe(json)),
            BadHttpRequestException bad => (bad.StatusCode, bad.Message.TrimEnd('.')),
            JsonException json => (StatusCodes.Status400BadRequest, JsonProblem.Describe(json)),
            RuleMailException e => (StatusCodes.Status422UnprocessableEntity, e.Message),
            OperationCanceledException when httpContext.RequestAborted.IsCancellationRequested => (499, "the client went away"),
            _ => (StatusCodes.Status500InternalServerError, "RuleMail could not answer this request; the server's log says why"),
        };

        if (status == StatusCodes.Status500InternalServerError)
        {
            logger.LogError(exception, "{Method} {Path} failed", httpContext.Request.Method, httpContext.Request.Path);
        }

        if (httpContext.Response.HasStarted || status == 499)
        {
            return true;
        }

        await ApiProblem.WriteAsync(httpContext, status, detail).ConfigureAwait(false);
        return true;
    }
}
