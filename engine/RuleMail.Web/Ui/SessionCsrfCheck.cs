using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;

namespace RuleMail.Web.Ui;

/// <summary>
/// A request signed in by the UI's session cookie that may change something (anything but GET, HEAD, OPTIONS) must
/// carry the session's antiforgery token in <see cref="UiAccess.CsrfHeader"/>: a page on another site can make the
/// browser send the cookie, never the token. Bearer requests carry no ambient credential and are not asked for it.
/// </summary>
internal sealed class SessionCsrfCheck(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context, IAntiforgery antiforgery)
    {
        if (UiAccess.BySession(context.User)
            && !HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method) && !HttpMethods.IsOptions(context.Request.Method)
            && !context.Request.Path.StartsWithSegments("/ui/session", StringComparison.Ordinal)
            && await UiEndpoints.Refused(context, antiforgery).ConfigureAwait(false) is { } refused)
        {
            await refused.ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        await next(context).ConfigureAwait(false);
    }
}
