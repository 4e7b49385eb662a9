using System.Net;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;

namespace RuleMail.Host.Tests.Processing;

/// <summary>The pipeline over a Maildir: what is left of a plan still runs after the message moved out of the folder.</summary>
public sealed class MaildirPipelineTests : IAsyncLifetime
{
    private readonly HostHarness _harness = HostHarness.Create();
    private WebhookListener _webhook = null!;

    public Task InitializeAsync()
    {
        _webhook = WebhookListener.Start();
        _harness.AddMaildirAccount();
        _harness.AddWebhookRule(_webhook.Url);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _webhook.DisposeAsync();
        _harness.Dispose();
    }

    [Fact]
    public async Task A_webhook_that_was_down_is_delivered_after_the_message_moved_to_Quarantine()
    {
        File.WriteAllBytes(_harness.Folder.File("Maildir/new/1.demo-pgp-no-mdc"), HostHarness.DemoMessage("pgp-no-mdc"));
        _webhook.RespondNext(1, HttpStatusCode.ServiceUnavailable);

        var first = await _harness.FetchOnceAsync();
        _harness.Time.Advance(TimeSpan.FromMinutes(2));
        var second = await _harness.FetchOnceAsync();
        var third = await _harness.FetchOnceAsync();

        Assert.Equal(MessageState.Retry, Assert.Single(first.Messages).State);
        Assert.Equal(MessageState.Done, Assert.Single(second.Messages).State);
        Assert.Empty(third.Messages);
        Assert.Single(_webhook.Acknowledged);
        Assert.Single(Directory.GetFiles(_harness.Folder.File("Maildir/.Quarantine/cur")));
        Assert.Empty(Directory.GetFiles(_harness.Folder.File("Maildir/new")));
    }

    [Theory]
    [InlineData(HttpStatusCode.Found, "a redirect to (no Location): set the webhook to the address it redirects to")]
    [InlineData(HttpStatusCode.Forbidden, "answered 403 Forbidden")]
    public async Task A_webhook_refused_for_good_is_reported_as_a_failed_step_not_a_success(HttpStatusCode status, string detail)
    {
        File.WriteAllBytes(_harness.Folder.File("Maildir/new/1.demo-plain"), HostHarness.DemoMessage("plain"));
        _webhook.RespondNext(1, status);

        var report = await _harness.FetchOnceAsync();

        var message = Assert.Single(report.Messages);
        Assert.Equal(MessageState.Done, message.State); // Never retried: the same answer would come again ...
        Assert.Equal(1, message.FailedSteps); // ... but the run says a step failed (run --once counts it and exits 4).
        Assert.Contains(message.Actions, a => a.StartsWith("webhook ", StringComparison.Ordinal) && a.Contains(": failed (", StringComparison.Ordinal)
                                              && a.Contains(detail, StringComparison.Ordinal));
    }
}
