using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using RuleMail.Cli.Tests.Support;
using RuleMail.Core.Tests.Support;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;
using RuleMail.Web.Tests.Support;

namespace RuleMail.Web.Tests.Api;

/// <summary>
/// Rule checks and dry runs over HTTP: lint gives the errors <c>rulemail rules lint</c> gives, for the rules folder or
/// one file sent (never written to the rules folder); test runs a message through the configured or the given rules
/// with the trace of <c>check --json</c>, JavaScript in the configured sandbox limits.
/// </summary>
public sealed class RulesEndpointsTests : IAsyncLifetime
{
    /// <summary>Two rules that do not load (an unknown operator, an unknown key); the rules page shows the same errors.</summary>
    internal const string BrokenYaml = """
        rules:
          - name: typo
            on: incoming
            when:
              subject: {containz: invoice}
            then:
              flag: invoice
          - name: unknown-key
            on: incoming
            then:
              colour: red
        """;

    private const string BrokenScript = """
        function decide(message) {
          return { flag: };
        }
        """;

    private const string TagEverything = """
        rules:
          - name: tag-everything
            on: incoming
            then:
              tag: tested
        """;

    private const string EncryptForCustomers = """
        rules:
          - name: customers-get-encrypted-mail
            on: outgoing
            when:
              to.domain: customer.test
            then:
              encrypt: required
        """;

    /// <summary>Five thousand loop rounds: well within the default statement limit, far beyond the one this test configures.</summary>
    private const string CountingScript = """
        function decide(message) {
          var n = 0;
          for (var i = 0; i < 5000; i++) { n += i; }
          return { tag: "counted" };
        }
        """;

    private readonly HostHarness _host = HostHarness.Create();
    private WebHarness _web = null!;

    public async Task InitializeAsync() => _web = await WebHarness.StartAsync(_host, c => c.Javascript.MaxStatements = 1000);

    public async Task DisposeAsync()
    {
        await _web.DisposeAsync();
        _host.Dispose();
    }

    [Fact]
    public async Task The_rules_in_force_are_listed_in_the_order_they_run_with_their_files_and_directions()
    {
        var client = await _web.ClientAsync(ApiRole.Viewer);

        var list = JsonDocument.Parse(await client.GetStringAsync("api/v1/rules")).RootElement;

        Assert.Equal(_host.RulesDirectory, list.GetProperty("folder").GetString());
        Assert.Equal(
            [
                """{"name":"quarantine-failed-security","file":"rules/00-quarantine-failed-security.yaml","on":"incoming","enabled":true}""",
                """{"name":"sign-and-encrypt-when-possible","file":"rules/50-sign-and-encrypt-when-possible.yaml","on":"outgoing","enabled":true}""",
            ],
            list.GetProperty("rules").EnumerateArray().Select(r => r.GetRawText()));
    }

    [Fact]
    public async Task A_rule_file_written_after_start_is_not_in_force_but_lint_of_the_folder_shows_its_error()
    {
        var client = await _web.ClientAsync(ApiRole.Viewer);
        var before = await client.GetStringAsync("api/v1/rules");

        _host.AddRule("70-broken.yaml", BrokenYaml);

        Assert.Equal(before, await client.GetStringAsync("api/v1/rules"));
        var lint = await LintAsync(client, null);
        Assert.False(lint.GetProperty("ok").GetBoolean());
        Assert.All(lint.GetProperty("errors").EnumerateArray(), e => Assert.Equal("rules/70-broken.yaml", e.GetProperty("file").GetString()));
    }

    [Fact]
    public async Task An_empty_body_lints_the_configured_rules_folder()
    {
        var client = await _web.ClientAsync(ApiRole.Viewer);

        var lint = await LintAsync(client, null);

        Assert.True(lint.GetProperty("ok").GetBoolean());
        Assert.Equal(2, lint.GetProperty("files").GetInt32());
        Assert.Equal(2, lint.GetProperty("rules").GetInt32());
        Assert.Empty(lint.GetProperty("errors").EnumerateArray());
        var cli = CliRun.Run(_host.Folder.Path, null, "rules", "lint", _host.RulesDirectory);
        Assert.Equal($"{_host.RulesDirectory}: 2 rule(s) in 2 file(s), no problems\n", cli.Output);
    }

    [Theory]
    [InlineData("broken.yaml", "application/yaml", BrokenYaml)]
    [InlineData("broken.js", "application/javascript", BrokenScript)]
    public async Task A_rule_file_sent_gets_the_errors_rules_lint_gives_with_file_line_and_column(string name, string type, string content)
    {
        var client = await _web.ClientAsync(ApiRole.Viewer);
        var rulesBefore = Directory.GetFiles(_host.RulesDirectory).Order(StringComparer.Ordinal).ToList();

        var lint = await LintAsync(client, new StringContent(content, Encoding.UTF8, type), $"?name={name}");

        using var folder = new TempDirectory("lint");
        Directory.CreateDirectory(folder.File("rules"));
        await File.WriteAllTextAsync(folder.File($"rules/{name}"), content);
        var cli = CliRun.Run(folder.Path, null, "rules", "lint", folder.File("rules"));
        Assert.Equal(3, cli.ExitCode);
        var expected = cli.ErrorLines[..^1]; // The last line is the count.
        Assert.False(lint.GetProperty("ok").GetBoolean());
        var errors = lint.GetProperty("errors").EnumerateArray().ToList();
        Assert.NotEmpty(errors);
        Assert.All(errors, e => Assert.True(e.GetProperty("line").GetInt32() > 0 && e.GetProperty("column").GetInt32() > 0, e.GetRawText()));
        Assert.Equal(expected, errors.Select(e =>
            $"{e.GetProperty("file").GetString()}:{e.GetProperty("line").GetInt32()}:{e.GetProperty("column").GetInt32()}: {e.GetProperty("message").GetString()}"));
        Assert.All(errors, e => Assert.Equal($"rules/{name}", e.GetProperty("file").GetString()));
        Assert.Equal(rulesBefore, Directory.GetFiles(_host.RulesDirectory).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_good_rule_file_is_ok()
    {
        var client = await _web.ClientAsync(ApiRole.Viewer);

        var lint = await LintAsync(client, new StringContent(TagEverything, Encoding.UTF8, "text/yaml"), "?name=tag.yaml");

        Assert.True(lint.GetProperty("ok").GetBoolean());
        Assert.Equal((1, 1), (lint.GetProperty("files").GetInt32(), lint.GetProperty("rules").GetInt32()));
    }

    [Theory]
    [InlineData("?name=../evil.yaml", "application/yaml", HttpStatusCode.BadRequest, "name: '../evil.yaml' is not a rule file name")]
    [InlineData("?name=%2Fetc%2Fcron.d%2Fx.yaml", "application/yaml", HttpStatusCode.BadRequest, "is not a rule file name")]
    [InlineData("?name=.hidden.yaml", "application/yaml", HttpStatusCode.BadRequest, "is not a rule file name")]
    [InlineData("?name=rule.js", "application/yaml", HttpStatusCode.BadRequest, "name: rule.js does not fit the content type application/yaml")]
    [InlineData("?name=rule.yaml", "text/plain", HttpStatusCode.UnsupportedMediaType, "send a rule file as Content-Type: application/yaml or application/javascript (not text/plain)")]
    public async Task A_rule_file_it_will_not_take_is_refused_with_why(string query, string type, HttpStatusCode status, string detail)
    {
        var client = await _web.ClientAsync(ApiRole.Viewer);

        var response = await client.PostAsync($"api/v1/rules/lint{query}", new StringContent(TagEverything, Encoding.UTF8, type));

        await MessagesEndpointsTests.AssertProblemAsync(response, status, detail);
        Assert.Equal(2, Directory.GetFiles(_host.RulesDirectory).Length);
    }

    [Fact]
    public async Task A_rule_file_over_the_bound_is_413()
    {
        var client = await _web.ClientAsync(ApiRole.Viewer);
        var huge = TagEverything + "\n#" + new string('x', 300 * 1024) + "\n";

        var response = await client.PostAsync("api/v1/rules/lint?name=huge.yaml", new StringContent(huge, Encoding.UTF8, "application/yaml"));

        await MessagesEndpointsTests.AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "a rule file may be at most 256 KB");
    }

    /// <summary>Before nesting was bounded, the first of these overflowed the stack, which ends the whole service.</summary>
    [Theory]
    [InlineData("lists", 100_000, "1:65: nesting deeper than 64 levels of lists and maps is not accepted")]
    [InlineData("laughs", 9, "1:4: anchors and aliases (&a, *a) are not accepted: write the value out in full")]
    public async Task A_hostile_rule_file_is_one_lint_error_and_a_refused_dry_run_not_a_dead_service(string shape, int size, string error)
    {
        var yaml = shape == "lists"
            ? new string('[', size)
            : "a: &a [lol, lol]\n" + string.Join('\n', Enumerable.Range(1, size).Select(i => $"{(char)('a' + i)}: &{(char)('a' + i)} [*{(char)('a' + i - 1)}, *{(char)('a' + i - 1)}]")) + "\nrules: []\n";
        var viewer = await _web.ClientAsync(ApiRole.Viewer);
        var agent = await _web.ClientAsync(ApiRole.Agent);

        var lint = await LintAsync(viewer, new StringContent(yaml, Encoding.UTF8, "application/yaml"), "?name=hostile.yaml");
        var test = await agent.PostAsync("api/v1/rules/test", Form(HostHarness.DemoMessage("plain"), ("hostile.yaml", yaml)));

        Assert.False(lint.GetProperty("ok").GetBoolean());
        var only = Assert.Single(lint.GetProperty("errors").EnumerateArray());
        Assert.Equal($"rules/hostile.yaml:{error}",
            $"{only.GetProperty("file").GetString()}:{only.GetProperty("line").GetInt32()}:{only.GetProperty("column").GetInt32()}: {only.GetProperty("message").GetString()}");
        await MessagesEndpointsTests.AssertProblemAsync(test, HttpStatusCode.UnprocessableEntity, $"rules/hostile.yaml:{error}: the rules sent do not load");
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("healthz")).StatusCode);
    }

    [Fact]
    public async Task A_dry_run_with_the_configured_rules_is_the_check_documents_trace()
    {
        var client = await _web.ClientAsync(ApiRole.Agent);
        var message = HostHarness.DemoMessage("smime-unknown-signer");

        var test = await TestAsync(client, message);
        var check = await client.PostAsync("api/v1/check", new ByteArrayContent(message) { Headers = { ContentType = new MediaTypeHeaderValue("message/rfc822") } });

        using var checkJson = JsonDocument.Parse(await check.Content.ReadAsStringAsync());
        Assert.Equal("incoming", test.GetProperty("direction").GetString());
        foreach (var part in new[] { "security", "rules", "decision", "errors" })
        {
            Assert.Equal(checkJson.RootElement.GetProperty(part).GetRawText(), test.GetProperty(part).GetRawText());
        }

        var quarantine = test.GetProperty("rules").EnumerateArray().Single(r => r.GetProperty("name").GetString() == "quarantine-failed-security");
        Assert.True(quarantine.GetProperty("matched").GetBoolean());
        Assert.Equal("Quarantine", test.GetProperty("decision").GetProperty("move").GetString());
    }

    [Fact]
    public async Task Rules_sent_with_the_message_are_run_instead_of_the_configured_ones()
    {
        var client = await _web.ClientAsync(ApiRole.Agent);

        var test = await TestAsync(client, HostHarness.DemoMessage("smime-signed"), ("tag.yaml", TagEverything));

        var rule = Assert.Single(test.GetProperty("rules").EnumerateArray());
        Assert.Equal(("tag-everything", "rules/tag.yaml", true), (rule.GetProperty("name").GetString(), rule.GetProperty("file").GetString(), rule.GetProperty("matched").GetBoolean()));
        Assert.Equal("""{"tag":["tested"]}""", test.GetProperty("decision").GetRawText());
        Assert.True(test.GetProperty("security").GetProperty("sign").GetProperty("success").GetBoolean());
        Assert.Equal(2, Directory.GetFiles(_host.RulesDirectory).Length);
    }

    [Fact]
    public async Task Outgoing_runs_the_outgoing_rules_on_the_message_as_it_would_be_sent()
    {
        var client = await _web.ClientAsync(ApiRole.Agent);
        var draft = new MimeKit.MimeMessage();
        draft.From.Add(MimeKit.MailboxAddress.Parse("support@rulemail.test"));
        draft.To.Add(MimeKit.MailboxAddress.Parse("alice@customer.test"));
        draft.Subject = "Your ticket";
        draft.Body = new MimeKit.TextPart("plain") { Text = "Hello" };
        using var raw = new MemoryStream();
        await draft.WriteToAsync(raw);

        var given = await TestAsync(client, raw.ToArray(), "?direction=outgoing", ("encrypt.yaml", EncryptForCustomers));
        var configured = await TestAsync(client, raw.ToArray(), "?direction=outgoing");

        Assert.Equal("outgoing", given.GetProperty("direction").GetString());
        Assert.Equal(JsonValueKind.Null, given.GetProperty("security").ValueKind);
        Assert.Equal("""{"encrypt":"required"}""", given.GetProperty("decision").GetRawText());
        Assert.Equal("sign-and-encrypt-when-possible", Assert.Single(configured.GetProperty("rules").EnumerateArray()).GetProperty("name").GetString());
        Assert.Equal("preferred", configured.GetProperty("decision").GetProperty("encrypt").GetString());
    }

    [Fact]
    public async Task A_script_over_the_configured_statement_limit_fails_alone_in_the_trace()
    {
        var client = await _web.ClientAsync(ApiRole.Agent);

        var test = await TestAsync(client, HostHarness.DemoMessage("plain"), ("count.js", CountingScript), ("tag.yaml", TagEverything));

        var script = test.GetProperty("rules").EnumerateArray().Single(r => r.GetProperty("file").GetString() == "rules/count.js");
        Assert.Contains("statement", script.GetProperty("error").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.Single(test.GetProperty("errors").EnumerateArray());
        Assert.Equal("""{"tag":["tested"]}""", test.GetProperty("decision").GetRawText()); // The other rule still ran.
    }

    [Fact]
    public async Task Rules_sent_that_do_not_load_are_refused_whole_with_the_first_error()
    {
        var client = await _web.ClientAsync(ApiRole.Agent);

        var response = await client.PostAsync("api/v1/rules/test", Form(HostHarness.DemoMessage("plain"), ("broken.yaml", BrokenYaml)));

        await MessagesEndpointsTests.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity, "rules/broken.yaml:5:");
    }

    /// <summary>A webhook whose URL holds credentials in its user info, path and query, as real ones do.</summary>
    private const string SecretWebhook = """
        rules:
          - name: tell-the-tickets
            on: incoming
            then:
              webhook: https://hook-user:hook-password@hooks.example.test:8443/services/T000/SECRETPATH?token=SECRETQUERY
        """;

    [Fact]
    public async Task Check_and_dry_run_answers_show_a_webhook_by_its_host_only_never_its_credentials()
    {
        using var host = HostHarness.Create();
        host.AddRule("60-tickets.yaml", SecretWebhook);
        await using var web = await WebHarness.StartAsync(host);
        var agent = await web.ClientAsync(ApiRole.Agent);
        var plain = HostHarness.DemoMessage("plain");

        using var message = new ByteArrayContent(plain) { Headers = { ContentType = new MediaTypeHeaderValue("message/rfc822") } };
        var answers = new[]
        {
            await (await agent.PostAsync("api/v1/check", message)).Content.ReadAsStringAsync(),
            (await TestAsync(agent, plain)).GetRawText(),
            (await TestAsync(agent, plain, ("tickets.yaml", SecretWebhook))).GetRawText(),
        };

        foreach (var answer in answers)
        {
            Assert.Contains("https://hooks.example.test:8443/…", answer, StringComparison.Ordinal);
            Assert.DoesNotMatch("SECRET|hook-password|hook-user|services", answer);
        }
    }

    [Fact]
    public async Task A_dry_run_takes_at_most_200_rules_sent_so_one_request_cannot_run_thousands_on_a_message()
    {
        var client = await _web.ClientAsync(ApiRole.Agent);
        static string Tags(int from, int count) => "rules:\n" + string.Concat(Enumerable.Range(from, count).Select(i =>
            string.Create(CultureInfo.InvariantCulture, $"  - name: tag-{i}\n    on: incoming\n    then:\n      tag: t{i}\n")));
        var plain = HostHarness.DemoMessage("plain");

        var most = await TestAsync(client, plain, ("a.yaml", Tags(0, 150)), ("b.yaml", Tags(150, 50)));
        var tooMany = await client.PostAsync("api/v1/rules/test", Form(plain, ("a.yaml", Tags(0, 150)), ("b.yaml", Tags(150, 51))));

        Assert.Equal(200, most.GetProperty("rules").GetArrayLength());
        await MessagesEndpointsTests.AssertProblemAsync(tooMany, HttpStatusCode.BadRequest, "the rules sent hold 201 rules; a dry run takes at most 200");
    }

    [Fact]
    public async Task Bad_dry_run_requests_are_refused_with_why()
    {
        var client = await _web.ClientAsync(ApiRole.Agent);
        var plain = HostHarness.DemoMessage("plain");

        await MessagesEndpointsTests.AssertProblemAsync(await client.PostAsync("api/v1/rules/test?direction=sideways", Form(plain)),
            HttpStatusCode.BadRequest, "direction must be incoming or outgoing, not 'sideways'");
        await MessagesEndpointsTests.AssertProblemAsync(await client.PostAsync("api/v1/rules/test", new ByteArrayContent(plain) { Headers = { ContentType = new MediaTypeHeaderValue("message/rfc822") } }),
            HttpStatusCode.UnsupportedMediaType, "send multipart/form-data");
        using var noMessage = new MultipartFormDataContent { { new StringContent(TagEverything), "rules", "tag.yaml" } };
        await MessagesEndpointsTests.AssertProblemAsync(await client.PostAsync("api/v1/rules/test", noMessage),
            HttpStatusCode.BadRequest, "send exactly one non-empty 'message' part");
        await MessagesEndpointsTests.AssertProblemAsync(await client.PostAsync("api/v1/rules/test", Form(plain, ("../../evil.yaml", TagEverything))),
            HttpStatusCode.BadRequest, "rules: '../../evil.yaml' is not a rule file name");
        await MessagesEndpointsTests.AssertProblemAsync(await client.PostAsync("api/v1/rules/test", Form(plain, ("a.yaml", TagEverything), ("a.yaml", TagEverything))),
            HttpStatusCode.BadRequest, "a name came twice");
        using var stray = Form(plain);
        stray.Add(new StringContent("x"), "passphrase");
        await MessagesEndpointsTests.AssertProblemAsync(await client.PostAsync("api/v1/rules/test", stray),
            HttpStatusCode.BadRequest, "'passphrase' is not a part this takes");
    }

    [Fact]
    public async Task A_viewer_may_lint_but_not_run_a_message_through_the_rules()
    {
        var client = await _web.ClientAsync(ApiRole.Viewer);

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("api/v1/rules/lint", null)).StatusCode);
        await MessagesEndpointsTests.AssertProblemAsync(await client.PostAsync("api/v1/rules/test", Form(HostHarness.DemoMessage("plain"))),
            HttpStatusCode.Forbidden, "it needs the role agent");
    }

    private static async Task<JsonElement> LintAsync(HttpClient client, HttpContent? content, string query = "")
    {
        var response = await client.PostAsync($"api/v1/rules/lint{query}", content);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement;
    }

    private static Task<JsonElement> TestAsync(HttpClient client, byte[] message, params (string Name, string Content)[] rules) =>
        TestAsync(client, message, string.Empty, rules);

    private static async Task<JsonElement> TestAsync(HttpClient client, byte[] message, string query, params (string Name, string Content)[] rules)
    {
        using var form = Form(message, rules);
        var response = await client.PostAsync($"api/v1/rules/test{query}", form);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement;
    }

    private static MultipartFormDataContent Form(byte[] message, params (string Name, string Content)[] rules)
    {
        var form = new MultipartFormDataContent
        {
            { new ByteArrayContent(message) { Headers = { ContentType = new MediaTypeHeaderValue("message/rfc822") } }, "message", "message.eml" },
        };
        foreach (var (name, content) in rules)
        {
            form.Add(new StringContent(content, Encoding.UTF8, name.EndsWith(".js", StringComparison.Ordinal) ? "application/javascript" : "application/yaml"), "rules", name);
        }

        return form;
    }
}
