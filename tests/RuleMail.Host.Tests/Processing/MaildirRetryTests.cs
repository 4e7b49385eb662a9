using System.Text.Json;
using RuleMail.Host.Processing;
using RuleMail.Host.Tests.Support;

namespace RuleMail.Host.Tests.Processing;

/// <summary>Judging processed mail again in a Maildir: the file goes back from <c>.Quarantine/</c> to the root by rename, under its unique name.</summary>
public sealed class MaildirRetryTests : IAsyncLifetime
{
    private const string Name = "1764406807.M7P1.demo-smime-unknown-signer";
    private readonly HostHarness _harness = HostHarness.Create();
    private WebhookListener _webhook = null!;
    private string _maildir = null!;

    public Task InitializeAsync()
    {
        _webhook = WebhookListener.Start();
        _harness.CopyKeyStore();
        _maildir = _harness.AddMaildirAccount();
        _harness.AddWebhookRule(_webhook.Url);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _webhook.DisposeAsync();
        _harness.Dispose();
    }

    [Fact]
    public async Task A_message_that_now_verifies_goes_back_to_the_root_without_its_keyword_and_is_not_fetched_again()
    {
        File.WriteAllBytes(Path.Combine(_maildir, "new", Name), HostHarness.DemoMessage("smime-unknown-signer"));
        await _harness.FetchOnceAsync();
        var quarantined = Assert.Single(Directory.GetFiles(Path.Combine(_maildir, ".Quarantine", "cur")));
        Assert.Equal($"{Name}:2,a", Path.GetFileName(quarantined)); // security-failed is the Quarantine folder's keyword a.
        _harness.ImportIntoKeystore("stranger.crt");

        var retried = Assert.Single((await _harness.RetryOnceAsync()).Messages);
        var again = await _harness.RetryOnceAsync();
        var fetch = await _harness.FetchOnceAsync();

        Assert.Equal(RetryOutcome.Changed, retried.Outcome);
        Assert.Equal(["unflag security-failed: done", "move INBOX: done", $"webhook {_webhook.Url.Scheme}://{_webhook.Url.Authority}/…: done"], retried.Actions);
        Assert.Equal([$"{Name}:2,"], Directory.GetFiles(Path.Combine(_maildir, "cur")).Select(Path.GetFileName));
        Assert.Empty(Directory.GetFiles(Path.Combine(_maildir, "new")));
        Assert.Empty(Directory.GetFiles(Path.Combine(_maildir, ".Quarantine", "cur")));
        Assert.Empty(Directory.GetFiles(Path.Combine(_maildir, ".Quarantine", "new")));
        Assert.False(File.Exists(Path.Combine(_maildir, "maildirfolder")), "the root must not become a Maildir++ subfolder");
        Assert.Empty(again.Messages);
        Assert.Empty(fetch.Messages);
        Assert.Equal(2, _webhook.Received.Count);
        using var json = JsonDocument.Parse(_webhook.Acknowledged[1].Body);
        Assert.Equal(2, json.RootElement.GetProperty("analysis").GetInt32());
        Assert.Empty(json.RootElement.GetProperty("tags").EnumerateArray());
    }

    [Fact]
    public async Task A_message_a_person_moved_back_by_hand_is_found_where_it_was_fetched()
    {
        File.WriteAllBytes(Path.Combine(_maildir, "new", Name), HostHarness.DemoMessage("smime-unknown-signer"));
        await _harness.FetchOnceAsync();
        var quarantined = Assert.Single(Directory.GetFiles(Path.Combine(_maildir, ".Quarantine", "cur")));
        File.Move(quarantined, Path.Combine(_maildir, "cur", $"{Name}:2,S")); // Read and put back by a mail client.
        _harness.ImportIntoKeystore("stranger.crt");

        var retried = Assert.Single((await _harness.RetryOnceAsync()).Messages);

        // Found under its unique name where it was fetched; it is home already, and its name carries no keyword letter.
        Assert.Equal(RetryOutcome.Changed, retried.Outcome);
        Assert.Equal(["unflag security-failed: done", $"webhook {_webhook.Url.Scheme}://{_webhook.Url.Authority}/…: done"], retried.Actions);
        Assert.Equal("INBOX", retried.Location?.Folder);
        Assert.Equal([$"{Name}:2,S"], Directory.GetFiles(Path.Combine(_maildir, "cur")).Select(Path.GetFileName));
        Assert.Equal(2, _webhook.Received.Count);
    }
}
