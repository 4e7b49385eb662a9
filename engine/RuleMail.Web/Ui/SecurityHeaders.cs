using Microsoft.AspNetCore.Http;

namespace RuleMail.Web.Ui;

/// <summary>
/// Headers on every answer: a strict Content-Security-Policy (scripts, styles, images and requests from this origin
/// only; no inline script or style, no plugins, no framing, forms post only here), no MIME sniffing, no referrer.
/// </summary>
internal sealed class SecurityHeaders(RequestDelegate next)
{
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; font-src 'self'; "
        + "form-action 'self'; base-uri 'none'; frame-ancestors 'none'; object-src 'none'";

    public Task InvokeAsync(HttpContext context)
    {
        // Set as the answer starts, not now: the exception handler clears the headers of an answer it replaces with a
        // problem, and a problem's detail may quote what the request sent.
        context.Response.OnStarting(static state =>
        {
            var headers = ((HttpResponse)state).Headers;
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            headers["Cross-Origin-Opener-Policy"] = "same-origin";
            return Task.CompletedTask;
        }, context.Response);
        return next(context);
    }
}
