using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RuleMail.Cli.Tests.Support;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;
using RuleMail.Web.Tests.Support;

namespace RuleMail.Web.Tests.Api;

/// <summary>
/// The ledger and re-judging over HTTP, on a ledger filled by a real fetch of the demo mailbox with the shipped rules:
/// listing, filtering and paging, one message with its history, and a retry that turns the unknown signer into a
/// verified one once its certificate is imported — with the same JSON as <c>rulemail retry --json</c>.
/// </summary>
public sealed class MessagesEndpointsTests : IAsyncLifetime
{
    private const string UnknownSigner = "1764406807.M7P1.demo-smime-unknown-signer";
    private const string Plain = "1764406801.M1P1.demo-plain";
    private const int DemoMessages = 13;
    private const int SecurityFailed = 8;
    private static readonly string[] QuarantineActions = ["keyword security-failed done", "move Quarantine done"];
    private readonly HostHarness _host = HostHarness.Create();
    private WebHarness? _web;
    private string _maildir = null!;

    public async Task InitializeAsync()
    {
        _host.CopyKeyStore();
        _maildir = _host.AddMaildirAccount();
        FillDemoMailbox(_maildir);
        var fetched = await _host.FetchOnceAsync();
        Assert.Null(fetched.Error);
        Assert.Equal(DemoMessages, fetched.Messages.Count);
    }

    public async Task DisposeAsync()
    {
        if (_web is not null)
        {
            await _web.DisposeAsync();
        }

        _host.Dispose();
    }

    [Fact]
    public async Task The_ledger_lists_every_message_newest_first_with_its_security_result_decision_and_actions()
    {
        // A later message, a minute later: it must come first.
        _host.Time.Advance(TimeSpan.FromMinutes(1));
        HostHarness.PlainQuestion("later").WriteTo(Path.Combine(_maildir, "new", "1764409999.M99P1.later"));
        await _host.FetchOnceAsync();
        var client = await ClientAsync(ApiRole.Viewer);

        var page = await GetJsonAsync(client, "api/v1/messages");

        var messages = page.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(DemoMessages + 1, messages.Count);
        Assert.Equal(JsonValueKind.Null, page.GetProperty("next").ValueKind);
        Assert.Equal("1764409999.M99P1.later", messages[0].GetProperty("source_key").GetString());
        var stranger = messages.Single(m => m.GetProperty("source_key").GetString() == UnknownSigner);
        Assert.Equal("demo", stranger.GetProperty("account").GetString());
        Assert.Equal("INBOX", stranger.GetProperty("folder").GetString());
        Assert.Equal("Urgent", stranger.GetProperty("subject").GetString());
        Assert.Equal("stranger@unknown.test", stranger.GetProperty("from").GetString());
        Assert.Equal("done", stranger.GetProperty("state").GetString());
        Assert.Equal(["signature-failed"], stranger.GetProperty("status").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(1, stranger.GetProperty("analysis").GetInt32());
        Assert.Equal("Unable to find certificate for validation", stranger.GetProperty("security").GetProperty("sign").GetProperty("comment").GetString());
        Assert.Equal("Quarantine", stranger.GetProperty("decision").GetProperty("move").GetString());
        Assert.Equal(["security-failed"], stranger.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal("Quarantine", stranger.GetProperty("location").GetProperty("folder").GetString());
        Assert.Equal(QuarantineActions, Actions(stranger));
        Assert.False(stranger.GetProperty("actions")[0].TryGetProperty("payload", out _));

        // The security result is the stored contract, byte for byte.
        var (entry, _, _) = await LedgerOfAsync(UnknownSigner);
        Assert.Equal(entry.SecurityJson, stranger.GetProperty("security").GetRawText());
    }

    [Fact]
    public async Task A_webhook_url_shows_in_the_ledger_without_its_user_info_path_or_query()
    {
        await using var webhook = WebhookListener.Start();
        var url = $"http://hook-user:hook-pass@{webhook.Url.Authority}/tickets/SECRET-PATH?token=t0ken";
        _host.AddRule("0-webhook.yaml", $"rules:\n  - name: tell\n    on: incoming\n    then:\n      webhook: {{url: '{url}', timeout: 5s}}\n");
        const string Hooked = "1764409999.M99P1.hooked";
        HostHarness.PlainQuestion("hooked").WriteTo(Path.Combine(_maildir, "new", Hooked));
        Assert.Null((await _host.FetchOnceAsync()).Error);
        Assert.Single(webhook.Received);
        var client = await ClientAsync(ApiRole.Viewer);

        var list = await GetJsonAsync(client, "api/v1/messages");
        var one = await GetJsonAsync(client, $"api/v1/messages/{LedgerId.Format("demo", "INBOX", Hooked)}");

        var message = list.GetProperty("messages").EnumerateArray().Single(m => m.GetProperty("source_key").GetString() == Hooked);
        var redacted = $"http://{webhook.Url.Authority}/…";
        Assert.Equal([$"webhook {redacted} done"], Actions(message));
        Assert.Equal([$"webhook {redacted} done"], Actions(one.GetProperty("analyses")[0]));
        Assert.Equal(redacted, message.GetProperty("decision").GetProperty("webhook")[0].GetProperty("url").GetString());
        Assert.Equal("5s", message.GetProperty("decision").GetProperty("webhook")[0].GetProperty("timeout").GetString());
        foreach (var secret in new[] { "hook-user", "hook-pass", "SECRET-PATH", "t0ken" })
        {
            Assert.DoesNotContain(secret, list.GetRawText(), StringComparison.Ordinal);
            Assert.DoesNotContain(secret, one.GetRawText(), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("signature-failed", 6)]
    [InlineData("security-failed", SecurityFailed)]
    [InlineData("decrypt-failed,signature-failed", SecurityFailed)]
    [InlineData("plain", 1)]
    [InlineData("encrypted", 2)]
    [InlineData("done", DemoMessages)]
    [InlineData("security-failed,done", SecurityFailed)]
    [InlineData("security-failed,retry", 0)]
    [InlineData("failed", 0)]
    public async Task Status_words_filter_by_security_outcome_and_state(string status, int expected)
    {
        var client = await ClientAsync(ApiRole.Viewer);

        var messages = (await GetJsonAsync(client, $"api/v1/messages?status={status}")).GetProperty("messages").EnumerateArray().ToList();

        Assert.Equal(expected, messages.Count);
        var words = status.Split(',');
        foreach (var message in messages)
        {
            var has = message.GetProperty("status").EnumerateArray().Select(s => s.GetString()!).Append(message.GetProperty("state").GetString()!).ToList();
            if (words.Contains("security-failed"))
            {
                has.Add(has.Contains("signature-failed") || has.Contains("decrypt-failed") ? "security-failed" : "-");
            }

            Assert.Contains(has, words.Contains);
        }
    }

    [Fact]
    public async Task The_status_words_add_up_to_the_whole_ledger()
    {
        var client = await ClientAsync(ApiRole.Viewer);
        var failed = await CountAsync(client, "status=security-failed");
        var passed = await CountAsync(client, "status=plain") + (await ListAsync(client, "status=signed,encrypted"))
            .Count(m => !m.GetProperty("status").EnumerateArray().Any(s => s.GetString()!.EndsWith("-failed", StringComparison.Ordinal)));

        Assert.Equal(DemoMessages, failed + passed);
        Assert.Equal(failed, await CountAsync(client, "status=decrypt-failed&status=signature-failed"));
    }

    [Fact]
    public async Task Pages_follow_the_cursor_through_every_message_once_in_order()
    {
        var client = await ClientAsync(ApiRole.Viewer);
        var whole = (await ListAsync(client, "limit=500")).Select(m => m.GetProperty("id").GetString()).ToList();

        var paged = new List<string?>();
        string? after = null;
        var pages = 0;
        do
        {
            var page = await GetJsonAsync(client, $"api/v1/messages?limit=5{(after is null ? string.Empty : $"&after={after}")}");
            var ids = page.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("id").GetString()).ToList();
            Assert.InRange(ids.Count, 1, 5);
            paged.AddRange(ids);
            after = page.GetProperty("next").GetString();
            pages++;
        }
        while (after is not null && pages < 10);

        Assert.Equal(3, pages);
        Assert.Equal(whole, paged);
        Assert.Equal(DemoMessages, paged.Distinct().Count());
    }

    [Fact]
    public async Task Since_and_account_narrow_the_list()
    {
        var client = await ClientAsync(ApiRole.Viewer);
        var seen = _host.Time.GetUtcNow();

        Assert.Equal(DemoMessages, await CountAsync(client, $"since={seen.AddSeconds(-1):yyyy-MM-ddTHH:mm:ssZ}"));
        Assert.Equal(0, await CountAsync(client, $"since={seen.AddMinutes(1):yyyy-MM-ddTHH:mm:ssZ}"));
        Assert.Equal(DemoMessages, await CountAsync(client, $"since={seen.AddDays(-1):yyyy-MM-dd}"));
        Assert.Equal(DemoMessages, await CountAsync(client, "account=demo"));
        Assert.Equal(0, await CountAsync(client, "account=nobody"));
    }

    [Theory]
    [InlineData("status=bogus", "status: 'bogus' is not known; use the security outcomes encrypted, decrypt-failed, signed, signature-failed, plain, security-failed and/or the states processing, retry, done, failed, comma-separated")]
    [InlineData("status=signed;DROP%20TABLE%20message", "status: 'signed;DROP TABLE message' is not known")]
    [InlineData("limit=abc", "limit: 'abc' is not a whole number from 1 to 500")]
    [InlineData("limit=0", "limit: '0' is not a whole number from 1 to 500")]
    [InlineData("limit=-5", "limit: '-5' is not a whole number from 1 to 500")]
    [InlineData("since=yesterday", "since: 'yesterday' is not an ISO-8601 date or time")]
    [InlineData("after=bm90LWEtbWVzc2FnZQ", "after: not a message of the ledger; pass the next of the previous page")]
    [InlineData("after=..%2F..%2Fetc%2Fpasswd", "after: not a message of the ledger")]
    public async Task A_query_it_does_not_understand_is_400_saying_what_is_allowed(string query, string detail)
    {
        var client = await ClientAsync(ApiRole.Viewer);

        var response = await client.GetAsync($"api/v1/messages?{query}");

        await AssertProblemAsync(response, HttpStatusCode.BadRequest, detail);
    }

    [Fact]
    public async Task A_limit_above_the_cap_is_capped()
    {
        var client = await ClientAsync(ApiRole.Viewer);

        Assert.Equal(DemoMessages, await CountAsync(client, "limit=100000"));
    }

    [Fact]
    public async Task One_message_has_every_analysis_with_its_side_effects()
    {
        var client = await ClientAsync(ApiRole.Viewer);
        var id = LedgerId.Format("demo", "INBOX", UnknownSigner);

        var entry = await GetJsonAsync(client, $"api/v1/messages/{id}");

        Assert.Equal(id, entry.GetProperty("message").GetProperty("id").GetString());
        Assert.Equal(UnknownSigner, entry.GetProperty("message").GetProperty("source_key").GetString());
        var analysis = Assert.Single(entry.GetProperty("analyses").EnumerateArray());
        Assert.Equal(1, analysis.GetProperty("version").GetInt32());
        Assert.Equal("fetch", analysis.GetProperty("trigger").GetString());
        Assert.True(analysis.GetProperty("security_failed").GetBoolean());
        Assert.Equal(QuarantineActions, Actions(analysis));
    }

    [Theory]
    [InlineData("..%2F..%2Fetc%2Fpasswd")]
    [InlineData("%27%20OR%201%3D1%20--")]
    [InlineData("ZGVtbwBJTkJPWA")] // "demo\0INBOX": two parts, not three.
    [InlineData("ZGVtbwBJTkJPWAB4AA==")] // Padded: not the canonical spelling.
    [InlineData("ZGVtbwBJTkJPWAB4AB")] // Unused trailing bits set: another spelling of the same bytes.
    public async Task A_malformed_id_is_400(string id)
    {
        var client = await ClientAsync(ApiRole.Admin);

        await AssertProblemAsync(await client.GetAsync($"api/v1/messages/{id}"), HttpStatusCode.BadRequest, "is not a message id (take it from GET /api/v1/messages)");
        await AssertProblemAsync(await client.PostAsync($"api/v1/messages/{id}/retry", null), HttpStatusCode.BadRequest, "is not a message id");
    }

    [Fact]
    public async Task An_id_of_no_message_is_404()
    {
        var client = await ClientAsync(ApiRole.Admin);
        var id = LedgerId.Format("demo", "INBOX", "no-such-message");

        await AssertProblemAsync(await client.GetAsync($"api/v1/messages/{id}"), HttpStatusCode.NotFound, "no processed message has this id");
        await AssertProblemAsync(await client.PostAsync($"api/v1/messages/{id}/retry", null), HttpStatusCode.NotFound, "no processed message has this id");
    }

    [Fact]
    public void Ids_round_trip_and_nothing_else_parses()
    {
        var id = LedgerId.Format("demo", "INBOX/Sub folder", "1:2 ü");

        Assert.True(LedgerId.TryParse(id, out var account, out var folder, out var key));
        Assert.Equal(("demo", "INBOX/Sub folder", "1:2 ü"), (account, folder, key));
        Assert.DoesNotContain('/', id);
        Assert.DoesNotContain('+', id);
        Assert.False(LedgerId.TryParse(new string('A', LedgerId.MaxLength + 1), out _, out _, out _));
        Assert.False(LedgerId.TryParse(Convert.ToBase64String(Encoding.UTF8.GetBytes("a\0b\0c\0d\0")).TrimEnd('='), out _, out _, out _));
        Assert.False(LedgerId.TryParse(Convert.ToBase64String([0xFF, 0xFE, 0, 0x41, 0, 0x42, 0]).TrimEnd('='), out _, out _, out _));
    }

    [Fact]
    public async Task After_importing_the_strangers_certificate_a_retry_verifies_it_brings_it_back_and_records_analysis_2()
    {
        _host.ImportIntoKeystore("stranger.crt");
        var client = await ClientAsync(ApiRole.Admin);
        var id = LedgerId.Format("demo", "INBOX", UnknownSigner);

        var response = await client.PostAsync($"api/v1/messages/{id}/retry", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var retry = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var message = Assert.Single(retry.RootElement.GetProperty("messages").EnumerateArray());
        Assert.Equal(id, message.GetProperty("id").GetString());
        Assert.Equal("changed", message.GetProperty("outcome").GetString());
        Assert.Equal((1, 2), (message.GetProperty("analysis").GetProperty("before").GetInt32(), message.GetProperty("analysis").GetProperty("after").GetInt32()));
        Assert.False(message.GetProperty("security").GetProperty("before").GetProperty("sign").GetProperty("success").GetBoolean());
        Assert.True(message.GetProperty("security").GetProperty("after").GetProperty("sign").GetProperty("success").GetBoolean());
        Assert.Equal(["unflag security-failed: done", "move INBOX: done"], message.GetProperty("actions").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal(1, retry.RootElement.GetProperty("summary").GetProperty("changed").GetInt32());
        Assert.Empty(retry.RootElement.GetProperty("not_found").EnumerateArray());
        Assert.Equal([$"{UnknownSigner}:2,"], Directory.GetFiles(Path.Combine(_maildir, "cur")).Select(Path.GetFileName));

        var entry = await GetJsonAsync(client, $"api/v1/messages/{id}");
        Assert.Equal(["signed"], entry.GetProperty("message").GetProperty("status").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal("INBOX", entry.GetProperty("message").GetProperty("location").GetProperty("folder").GetString());
        var analyses = entry.GetProperty("analyses").EnumerateArray().ToList();
        Assert.Equal([1, 2], analyses.Select(a => a.GetProperty("version").GetInt32()));
        Assert.Equal("retry", analyses[1].GetProperty("trigger").GetString());
        Assert.Equal(["remove_keyword security-failed done", "move INBOX done"], Actions(analyses[1]));
        Assert.Equal(QuarantineActions, Actions(analyses[0]));
        Assert.Equal(["remove_keyword security-failed done", "move INBOX done"], Actions(entry.GetProperty("message")));
        Assert.Equal(SecurityFailed - 1, await CountAsync(client, "status=security-failed"));
    }

    [Fact]
    public async Task Retrying_the_same_selection_over_http_and_with_the_cli_gives_the_same_json()
    {
        // Two copies of the same state: one retried over HTTP, the other with rulemail retry --json.
        using var twin = HostHarness.Create();
        twin.CopyKeyStore();
        var twinMaildir = twin.AddMaildirAccount();
        FillDemoMailbox(twinMaildir);
        await twin.FetchOnceAsync();
        twin.ImportIntoKeystore("stranger.crt");
        _host.ImportIntoKeystore("stranger.crt");
        await File.WriteAllTextAsync(twin.ConfigPath, $"""
            keystore: {twin.KeystoreDirectory}
            keystore_passphrase_file: {Path.Combine(HostHarness.RepositoryRoot, "keystore-sample", "passphrase.txt")}
            rules: {twin.RulesDirectory}
            state: {twin.StatePath}
            accounts:
              - name: demo
                address: support@rulemail.test
                fetch:
                  maildir: {twinMaildir}
            """);
        var client = await ClientAsync(ApiRole.Admin);

        var api = await (await client.PostAsJsonAsync("api/v1/retry", new { security_failed = true })).Content.ReadAsStringAsync();
        var cli = CliRun.Run(twin.Folder.Path, null, "retry", "--security-failed", "--json", "--config", twin.ConfigPath);

        Assert.True(cli.ExitCode == 0, cli.Error);
        Assert.Equal(cli.Output.TrimEnd('\n').Replace(twin.Folder.Path, "ROOT", StringComparison.Ordinal), api.Replace(_host.Folder.Path, "ROOT", StringComparison.Ordinal));
        using var document = JsonDocument.Parse(api);
        Assert.Equal(1, document.RootElement.GetProperty("summary").GetProperty("changed").GetInt32());
        Assert.Equal(SecurityFailed, document.RootElement.GetProperty("summary").GetProperty("judged").GetInt32());
    }

    [Fact]
    public async Task Retry_by_ids_judges_only_those_and_names_the_ones_it_did_not_find()
    {
        var client = await ClientAsync(ApiRole.Admin);
        var plain = LedgerId.Format("demo", "INBOX", Plain);
        var unknown = LedgerId.Format("demo", "INBOX", "no-such-message");

        var response = await client.PostAsJsonAsync("api/v1/retry", new { messages = new[] { plain, unknown } });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var retry = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        var message = Assert.Single(retry["messages"]!.AsArray());
        Assert.Equal(plain, (string?)message!["id"]);
        Assert.Equal("unchanged", (string?)message["outcome"]);
        Assert.Equal([unknown], retry["not_found"]!.AsArray().Select(n => (string?)n));
        Assert.Equal(1, (int?)retry["summary"]!["failed"]);
    }

    [Theory]
    [InlineData("""{"account": "nobody"}""", "account: no account named 'nobody' fetches mail (accounts that do: demo)")]
    [InlineData("""{"messages": ["../../etc/passwd"]}""", "messages[0]: not a message id (take it from GET /api/v1/messages)")]
    [InlineData("""{"messages": "all"}""", "the body is not JSON of the expected shape")]
    [InlineData("""{"security_failed": "yes"}""", "the body is not JSON of the expected shape")]
    public async Task A_retry_request_it_cannot_follow_is_400(string body, string detail)
    {
        var client = await ClientAsync(ApiRole.Admin);

        var response = await client.PostAsync("api/v1/retry", new StringContent(body, Encoding.UTF8, "application/json"));

        await AssertProblemAsync(response, HttpStatusCode.BadRequest, detail);
    }

    [Fact]
    public async Task An_id_of_an_account_that_does_not_fetch_is_400()
    {
        var client = await ClientAsync(ApiRole.Admin);
        var id = LedgerId.Format("other", "INBOX", Plain);

        var response = await client.PostAsJsonAsync("api/v1/retry", new { messages = new[] { id } });

        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "messages[0]: the account other does not fetch mail in this configuration");
    }

    [Theory]
    [InlineData(ApiRole.Viewer)]
    [InlineData(ApiRole.Agent)]
    public async Task Only_an_admin_may_retry(ApiRole role)
    {
        var client = await ClientAsync(role);
        var id = LedgerId.Format("demo", "INBOX", UnknownSigner);

        await AssertProblemAsync(await client.PostAsync($"api/v1/messages/{id}/retry", null), HttpStatusCode.Forbidden, "it needs the role admin");
        await AssertProblemAsync(await client.PostAsJsonAsync("api/v1/retry", new { }), HttpStatusCode.Forbidden, "it needs the role admin");
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("api/v1/messages")).StatusCode);
        Assert.Equal(1, (await LedgerOfAsync(UnknownSigner)).Entry.AnalysisVersion);
    }

    [Fact]
    public async Task The_ledger_needs_a_token()
    {
        _web = await WebHarness.StartAsync(_host);

        Assert.Equal(HttpStatusCode.Unauthorized, (await _web.Client().GetAsync("api/v1/messages")).StatusCode);
    }

    [Fact]
    public async Task Retries_at_the_same_time_take_turns_so_the_new_analysis_is_recorded_and_carried_out_once()
    {
        _host.ImportIntoKeystore("stranger.crt");
        var client = await ClientAsync(ApiRole.Admin);

        var answers = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => client.PostAsJsonAsync("api/v1/retry", new { })));

        var summaries = new List<JsonElement>();
        foreach (var answer in answers)
        {
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            summaries.Add(JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement.GetProperty("summary"));
        }

        Assert.Equal(1, summaries.Sum(s => s.GetProperty("changed").GetInt32()));
        Assert.Equal(0, summaries.Sum(s => s.GetProperty("failed").GetInt32()));
        var (entry, analyses, effects) = await LedgerOfAsync(UnknownSigner);
        Assert.Equal(2, entry.AnalysisVersion);
        Assert.Equal(2, analyses.Count);
        Assert.Equal(2, effects.Count(e => e.AnalysisVersion == 2));
        Assert.All(effects, e => Assert.Equal(SideEffectState.Done, e.State));
    }

    [Fact]
    public async Task The_openapi_document_describes_the_ledger_retry_and_rules_operations()
    {
        _web = await WebHarness.StartAsync(_host);

        using var document = JsonDocument.Parse(await _web.Client().GetStringAsync("openapi/v1.json"));

        var paths = document.RootElement.GetProperty("paths");
        Assert.True(paths.GetProperty("/api/v1/messages").GetProperty("get").GetProperty("parameters").EnumerateArray()
            .Select(p => p.GetProperty("name").GetString()).ToHashSet().IsSupersetOf(["account", "status", "since", "limit", "after"]));
        Assert.True(paths.GetProperty("/api/v1/messages/{id}").TryGetProperty("get", out _));
        Assert.True(paths.GetProperty("/api/v1/messages/{id}/retry").TryGetProperty("post", out _));
        Assert.True(paths.GetProperty("/api/v1/retry").GetProperty("post").TryGetProperty("requestBody", out _));
        Assert.True(paths.GetProperty("/api/v1/rules/lint").GetProperty("post").GetProperty("requestBody").GetProperty("content").TryGetProperty("application/yaml", out _));
        Assert.True(paths.GetProperty("/api/v1/rules/test").GetProperty("post").GetProperty("requestBody").GetProperty("content").TryGetProperty("multipart/form-data", out _));
    }

    /// <summary>The demo mailbox's messages, in the account's Maildir as a fresh delivery.</summary>
    private static void FillDemoMailbox(string maildir)
    {
        foreach (var file in Directory.GetFiles(Path.Combine(HostHarness.RepositoryRoot, "keystore-sample", "mailbox", "new")))
        {
            File.Copy(file, Path.Combine(maildir, "new", Path.GetFileName(file)));
        }
    }

    private async Task<HttpClient> ClientAsync(ApiRole role)
    {
        _web ??= await WebHarness.StartAsync(_host);
        return await _web.ClientAsync(role);
    }

    /// <summary>The ledger as the store holds it (the service must be stopped: the state is one process's).</summary>
    private async Task<(LedgerEntry Entry, IReadOnlyList<MessageAnalysis> Analyses, IReadOnlyList<SideEffect> Effects)> LedgerOfAsync(string sourceKey)
    {
        if (_web is not null)
        {
            await _web.DisposeAsync();
            _web = null;
        }

        return await _host.LedgerAsync("INBOX", sourceKey);
    }

    private static async Task<JsonElement> GetJsonAsync(HttpClient client, string path)
    {
        var response = await client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement;
    }

    private static async Task<List<JsonElement>> ListAsync(HttpClient client, string query) =>
        [.. (await GetJsonAsync(client, $"api/v1/messages?{query}")).GetProperty("messages").EnumerateArray()];

    private static async Task<int> CountAsync(HttpClient client, string query) => (await ListAsync(client, query)).Count;

    private static List<string> Actions(JsonElement owner) =>
        [.. owner.GetProperty("actions").EnumerateArray().Select(a => $"{a.GetProperty("kind").GetString()} {a.GetProperty("target").GetString()} {a.GetProperty("state").GetString()}")];

    internal static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string detail)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(body);
        Assert.Equal((int)status, problem.RootElement.GetProperty("status").GetInt32());
        Assert.Contains(detail, problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
    }
}
