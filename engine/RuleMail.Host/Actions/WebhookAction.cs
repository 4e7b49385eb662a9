using System.Net.Http.Headers;
using System.Text;
using RuleMail.Crypto;
using RuleMail.Json;
using RuleMail.Host.Processing;
using RuleMail.Host.Scheduling;
using RuleMail.Host.State;
using RuleMail.Host.Transport;
using RuleMail.Rules;

namespace RuleMail.Host.Actions;

/// <summary>
/// <c>webhook</c>: POSTs the message summary and its security result as JSON (the payload is fixed when planned, so a
/// retry sends the same bytes) with an <c>Idempotency-Key</c>, and what <c>include</c> asks for. With
/// <c>secret_env</c> the request carries <c>X-RuleMail-Signature: sha256=HEX</c>, the HMAC-SHA256 of the exact body
/// under the variable's value, read when the request is sent: a variable not set (or empty) is transient trouble,
/// retried, and the call is never sent unsigned. A 2xx is done; 408, 425, 429 and 5xx, a network failure or no
/// answer within the call's timeout are tried again with backoff; any other answer (a redirect, a 4xx) is refused
/// for good — a failed step the run reports.
/// </summary>
/// <param name="http">A client that follows no redirects (a 301/302 would turn the POST into a GET without its body) and has no timeout of its own.</param>
/// <param name="environment">Where signing secrets are read (the process environment, or a test's own).</param>
internal sealed class WebhookAction(HttpClient http, TimeProvider time, EnvironmentVariables environment) : IActionHandler, IDisposable
{
    public SideEffectKind Kind => SideEffectKind.Webhook;

    public int Order => 2;

    public bool OnMessage => false;

    public bool LeavesHost => true;

    public SideEffectState NotDone => SideEffectState.Failed;

    public IEnumerable<PlannedAction> Plan(ActionPlanning planning)
    {
        var decision = planning.Decision;
        if (decision.Webhook.Count == 0)
        {
            return [];
        }

        return decision.Webhook.Distinct(StringComparer.Ordinal).Select(url =>
        {
            var options = decision.WebhookOptions.GetValueOrDefault(url);
            var request = new WebhookRequest(Body(planning, url, options?.Include ?? WebhookInclude.None), options?.SecretEnv);
            return new PlannedAction(url, request.Stored(), options?.Timeout);
        });
    }

    public async Task<SourceActionResult> RunAsync(ActionContext context, SideEffect effect, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(effect.Target, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            return new SourceActionResult(false, $"not an http(s) URL: {effect.Target}");
        }

        var planned = WebhookRequest.Read(effect.Payload);
        var body = Encoding.UTF8.GetBytes(planned.Body);
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = content };
        if (planned.SecretEnv is { } variable)
        {
            // Read now, never stored: the plan holds the variable's name only. The value is never logged nor recorded.
            var secret = environment.Read(variable);
            if (string.IsNullOrEmpty(secret))
            {
                throw new TransientActionException(
                    $"webhook {WebhookTarget.Redacted(effect.Target)}: the signing secret's environment variable {variable} is not set or empty; not sent unsigned");
            }

            request.Headers.Add(WebhookRequest.SignatureHeader, WebhookRequest.Signature(body, secret));
        }

        request.Headers.Add("Idempotency-Key", effect.IdempotencyKey);
        request.Headers.UserAgent.ParseAdd("RuleMail/1.0");
        // The call's own deadline, on the host's clock: connection, request and the whole answer.
        var timeout = effect.Timeout ?? WebhookOptions.DefaultTimeout;
        using var deadline = new CancellationTokenSource(timeout, time);
        using var call = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        HttpResponseMessage response;
        try
        {
            // The status decides; the body is never read, so a receiver's huge answer costs nothing.
            response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, call.Token).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new TransientActionException($"webhook {WebhookTarget.Redacted(effect.Target)}: {e.Message}", e);
        }
        catch (OperationCanceledException e) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TransientActionException($"webhook {WebhookTarget.Redacted(effect.Target)}: no answer within {DecisionJson.Duration(timeout)}", e);
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                return SourceActionResult.Ok;
            }

            var answer = $"webhook {WebhookTarget.Redacted(effect.Target)} answered {status} {response.ReasonPhrase}";
            if (status is >= 300 and < 400)
            {
                // Redirects are not followed (a POST would lose its body): the rule names an address that moved.
                answer += $", a redirect to {(response.Headers.Location is { } location ? WebhookTarget.Redacted(location.ToString()) : "(no Location)")}: set the webhook to the address it redirects to";
            }

            return status is 408 or 425 or 429 or >= 500
                ? throw new TransientActionException(answer)
                : new SourceActionResult(false, answer);
        }
    }

    public string Describe(SideEffect effect) => $"webhook {WebhookTarget.Redacted(effect.Target)}";

    /// <summary>The client is this handler's own (see <see cref="Scheduling.RuleMailHostServices"/>).</summary>
    public void Dispose() => http.Dispose();

    /// <summary>
    /// The body for <paramref name="url"/>: the message summary, its security result (the contract's shape), the
    /// decision and tags, the call's idempotency key (inside what the signature covers) and what <paramref name="include"/> asks for.
    /// </summary>
    private string Body(ActionPlanning planning, string url, WebhookInclude include)
    {
        var (entry, verdict) = (planning.Entry, planning.Verdict);
        return ContractJson.Serialize(WebhookPayload.Create(
            planning.Account.Name, entry.Folder, entry.SourceKey, entry.From, new IncomingReport(verdict.Security, verdict.Message),
            verdict.Size, planning.Decision, verdict.Rules.Errors, planning.AnalysisVersion,
            SideEffectPlan.IdempotencyKey(entry, Kind, url, planning.AnalysisVersion), include, planning.Received));
    }
}
