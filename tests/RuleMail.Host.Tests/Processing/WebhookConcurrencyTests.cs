using RuleMail.Host.Processing;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;

namespace RuleMail.Host.Tests.Processing;

/// <summary>
/// Webhooks of several messages are in flight at once (bounded per account), each with its own timeout, so one slow
/// receiver does not hold back the mailbox; the run still ends only when every call is finished, and every webhook
/// is acknowledged exactly once. The tests wait for completion events (the run's progress, the listener's
/// requests), never for time; a receiver "answering after 20 s" holds its answer while the host's clock is moved.
/// </summary>
public sealed class WebhookConcurrencyTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly HostHarness _harness = HostHarness.Create();
    private WebhookListener _webhook = null!;

    private string Maildir => _harness.Folder.File("Maildir");

    public Task InitializeAsync()
    {
        _webhook = WebhookListener.Start();
        _harness.AddMaildirAccount();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _webhook.DisposeAsync();
        _harness.Dispose();
    }

    [Fact]
    public async Task A_receiver_that_answers_after_20_s_does_not_hold_back_the_other_messages()
    {
        _harness.AddRule("0-webhooks.yaml", $$"""
            rules:
              - name: slow-desk
                on: incoming
                when: {subject: Question slow}
                then:
                  webhook: {url: {{_webhook.Url}}slow, timeout: 30s}
                  stop: true
              - name: fast-desk
                on: incoming
                then:
                  webhook: {{_webhook.Url}}fast
            """);
        Deliver("1.slow", HostHarness.PlainQuestion("slow"));
        for (var i = 0; i < 5; i++)
        {
            Deliver($"2.fast-{i}", HostHarness.PlainQuestion($"fast-{i}"));
        }

        var finished = new List<string>();
        var othersFinished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var progress = new Inline(m =>
        {
            lock (finished)
            {
                finished.Add(m.SourceKey);
                if (finished.Count(k => k.StartsWith("2.fast", StringComparison.Ordinal)) == 5)
                {
                    othersFinished.TrySetResult();
                }
            }
        });
        _webhook.BeforeRespond = async request =>
        {
            if (request.Path == "/slow")
            {
                // Held until every other message is finished (webhook acknowledged and recorded done): a host
                // that called one webhook at a time would never get there, and the wait below would fail.
                await othersFinished.Task.WaitAsync(Patience);
                _harness.Time.Advance(TimeSpan.FromSeconds(20)); // It answers 20 s later, within its 30 s timeout.
            }
        };

        await using var runtime = await _harness.OpenAsync();
        var report = await runtime.Accounts[0].FetchAsync(progress, CancellationToken.None);

        Assert.Equal(6, report.Count(MessageState.Done));
        Assert.Equal("1.slow", finished[^1].Split(':')[0]); // Held while every other message finished.
        Assert.Equal(6, _webhook.Acknowledged.Count);
        Assert.Equal(6, _webhook.Acknowledged.Select(r => r.IdempotencyKey).Distinct().Count());

        var again = await runtime.Accounts[0].FetchAsync(null, CancellationToken.None);
        Assert.Empty(again.Messages);
        Assert.Equal(6, _webhook.Received.Count); // Exactly once: nothing is called again.
    }

    [Fact]
    public async Task A_receiver_that_does_not_answer_within_its_timeout_is_retried_and_acknowledged_once()
    {
        _harness.AddWebhookRule(_webhook.Url); // A plain URL: the default timeout, 10 s.
        Deliver("1.question", HostHarness.PlainQuestion("q"));
        var first = true;
        _webhook.BeforeRespond = request =>
        {
            if (first)
            {
                first = false;
                _harness.Time.Advance(TimeSpan.FromSeconds(11)); // Past the default timeout, on the host's clock.
                throw new IOException("the caller gave up before the answer");
            }

            return Task.CompletedTask;
        };

        var timedOut = await _harness.FetchOnceAsync();
        var message = Assert.Single(timedOut.Messages);
        Assert.Equal(MessageState.Retry, message.State);
        Assert.Contains("no answer within 10s", message.Error, StringComparison.Ordinal);

        _harness.Time.Advance(TimeSpan.FromMinutes(2));
        var retried = await _harness.FetchOnceAsync();

        Assert.Equal(MessageState.Done, Assert.Single(retried.Messages).State);
        var acknowledged = Assert.Single(_webhook.Acknowledged);
        Assert.Equal(_webhook.Received[0].IdempotencyKey, acknowledged.IdempotencyKey);
    }

    [Fact]
    public async Task Up_to_eight_messages_of_one_account_have_webhooks_in_flight_at_once()
    {
        _harness.AddWebhookRule(_webhook.Url);
        for (var i = 0; i < IncomingPipeline.MaxPlansInFlight + 2; i++)
        {
            Deliver($"{i:D2}.question", HostHarness.PlainQuestion($"q{i}"));
        }

        var inFlight = 0;
        var most = 0;
        var full = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _webhook.BeforeRespond = async _ =>
        {
            var now = Interlocked.Increment(ref inFlight);
            InterlockedMax(ref most, now);
            if (now == IncomingPipeline.MaxPlansInFlight)
            {
                full.TrySetResult();
            }

            // Every answer waits until eight calls were in flight together.
            await full.Task.WaitAsync(Patience);
            Interlocked.Decrement(ref inFlight);
        };

        var report = await _harness.FetchOnceAsync();

        Assert.Equal(IncomingPipeline.MaxPlansInFlight + 2, report.Count(MessageState.Done));
        Assert.Equal(IncomingPipeline.MaxPlansInFlight, most);
        Assert.Equal(IncomingPipeline.MaxPlansInFlight + 2, _webhook.Acknowledged.Count);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        for (var seen = Volatile.Read(ref target); value > seen; seen = Volatile.Read(ref target))
        {
            if (Interlocked.CompareExchange(ref target, value, seen) == seen)
            {
                return;
            }
        }
    }

    private void Deliver(string name, MimeKit.MimeMessage message) => message.WriteTo(Path.Combine(Maildir, "new", name));

    /// <summary>Reports synchronously, as <c>run --once</c> does.</summary>
    private sealed class Inline(Action<ProcessedMessage> report) : IProgress<ProcessedMessage>
    {
        public void Report(ProcessedMessage value) => report(value);
    }
}
