using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;
using RuleMail.Web.Tests.Support;

namespace RuleMail.Web.Tests.Api;

/// <summary><c>POST /api/v1/options</c>: the same JSON as <c>rulemail options --json</c>, the rule that decided, and one clear line for bad input.</summary>
public sealed class OptionsEndpointsTests(OptionsEndpointsTests.Service service) : IClassFixture<OptionsEndpointsTests.Service>, IAsyncLifetime
{
    private HttpClient _client = null!;

    private WebHarness Web => service.Web;

    public async Task InitializeAsync() => _client = await Web.ClientAsync(ApiRole.Viewer);

    public Task DisposeAsync() => Task.CompletedTask;

    [Theory]
    [InlineData("alice@customer.test", "", "")]
    [InlineData("bob@partner.test", "", "")]
    [InlineData("carol@both.test", "", "")]
    [InlineData("alice@customer.test", "carol@both.test", "")]
    [InlineData("dave@expired.test", "", "bob@partner.test")]
    [InlineData("nobody@unknown.test", "", "alice@customer.test")]
    public async Task The_api_answers_what_the_cli_prints(string to, string cc, string bcc)
    {
        var request = new JsonObject
        {
            ["from"] = "support@rulemail.test",
            ["to"] = new JsonArray(to),
            ["cc"] = cc.Length == 0 ? new JsonArray() : new JsonArray(cc),
            ["bcc"] = bcc.Length == 0 ? new JsonArray() : new JsonArray(bcc),
        };
        var response = await _client.PostAsJsonAsync("api/v1/options", request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);

        string[] args = ["options", "--from", "support@rulemail.test", "--to", to, "--json"];
        args = [.. args, .. cc.Length == 0 ? Array.Empty<string>() : ["--cc", cc], .. bcc.Length == 0 ? Array.Empty<string>() : ["--bcc", bcc]];
        var cli = Web.Cli(args);
        Assert.True(cli.ExitCode == 0, cli.Error);

        var api = JsonNode.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(cli.Output), api), $"API: {api}\nCLI: {cli.Output}");
    }

    [Fact]
    public async Task The_rule_that_made_encryption_required_is_named()
    {
        var options = await OptionsAsync("""{"from": "support@rulemail.test", "to": ["bob@partner.test"]}""");

        var encrypt = options.GetProperty("decided_by").GetProperty("encrypt");
        Assert.Equal("required", encrypt.GetProperty("preference").GetString());
        Assert.Equal("partner mail is encrypted", encrypt.GetProperty("rule").GetString());
        Assert.Equal("60-partner-encrypt.yaml", Path.GetFileName(encrypt.GetProperty("file").GetString()));
        Assert.Equal("sign-and-encrypt-when-possible", options.GetProperty("decided_by").GetProperty("sign").GetProperty("rule").GetString());
    }

    [Fact]
    public async Task The_shipped_default_shows_as_preferred_by_its_rule()
    {
        var options = await OptionsAsync("""{"from": "support@rulemail.test", "to": ["alice@customer.test"]}""");

        foreach (var protection in new[] { "sign", "encrypt" })
        {
            var choice = options.GetProperty("decided_by").GetProperty(protection);
            Assert.Equal("preferred", choice.GetProperty("preference").GetString());
            Assert.Equal("sign-and-encrypt-when-possible", choice.GetProperty("rule").GetString());
        }
    }

    [Fact]
    public async Task The_type_the_composer_switched_to_answers_the_buttons_for_that_type_and_an_unusable_one_is_not_taken()
    {
        const string Carol = """{"from": "support@rulemail.test", "to": ["carol@both.test"]""";
        Assert.Equal("S/MIME", (await OptionsAsync(Carol + "}")).GetProperty("type").GetString());

        var pgp = await OptionsAsync(Carol + """, "type": "pgp"}""");
        Assert.Equal("PGP", pgp.GetProperty("type").GetString());
        Assert.True(pgp.GetProperty("switch").GetBoolean());
        Assert.True(pgp.GetProperty("encrypt").GetProperty("enabled").GetBoolean());

        // alice has only an S/MIME certificate: PGP can still sign, so it is taken, and its Encrypt says why not.
        var alice = await OptionsAsync("""{"from": "support@rulemail.test", "to": ["alice@customer.test"], "type": "PGP"}""");
        Assert.Equal("PGP", alice.GetProperty("type").GetString());
        Assert.False(alice.GetProperty("encrypt").GetProperty("enabled").GetBoolean());
        Assert.Contains("The PGP key for alice@customer.test was not found.", alice.GetProperty("encrypt").GetProperty("tooltip").GetString(), StringComparison.Ordinal);

        // A sender with no key of either type and a recipient with none: no type can do anything, none is chosen.
        var none = await OptionsAsync("""{"from": "nobody@rulemail.test", "to": ["stranger@unknown.test"], "type": "pgp"}""");
        Assert.Equal(JsonValueKind.Null, none.GetProperty("type").ValueKind);
    }

    [Theory]
    [InlineData("""{"from": "support@rulemail.test", "to": ["alice@customer.test"], "type": "gpg"}""", 422, "type must be smime or pgp, not 'gpg'")]
    [InlineData("""{"from": "support@rulemail.test", "to": ["not an address"]}""", 422, "to: 'not an address' is not an e-mail address")]
    [InlineData("""{"from": "support@rulemail.test", "bcc": ["a@b.test", "@@"]}""", 422, "bcc: '@@' is not an e-mail address")]
    [InlineData("""{"to": ["alice@customer.test"]}""", 422, "from: the sender's address is required")]
    [InlineData("""{"from": "support@rulemail.test", "to": [null]}""", 422, "to, cc, bcc: an address is null; give each as a string")]
    [InlineData("""{"from": "support@rulemail.test", "to": "alice@customer.test"}""", 400, "the body is not JSON of the expected shape at $.to (line 1, byte ")]
    [InlineData("""{"from": "support@rulemail.test", "to": [""", 400, "the body is not JSON of the expected shape")]
    [InlineData("""{"from": "support@rulemail.test", "to": ["a@b.test"], "type": 7}""", 400, "the body is not JSON of the expected shape at $.type")]
    [InlineData("""{"from": 1}""", 400, "the body is not JSON of the expected shape at $.from")]
    [InlineData("", 400, "")]
    public async Task Bad_input_gets_one_clear_problem_line(string body, int status, string detail)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        var response = await _client.PostAsync("api/v1/options", content);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.StartsWith(detail, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"System\.|RuleMail\.|Microsoft\.|LineNumber|BytePosition", text); // No .NET insides, in any answer.
    }

    [Theory]
    [InlineData("options", 1001, 0, 0)]
    [InlineData("compose", 400, 400, 201)]
    [InlineData("options", 0, 0, 1001)]
    public async Task More_than_1000_addresses_in_all_are_refused_with_400(string path, int to, int cc, int bcc)
    {
        static JsonArray Addresses(string field, int count) => [.. Enumerable.Range(0, count).Select(i => (JsonNode)$"{field}{i}@customer.test")];
        var agent = await Web.ClientAsync(ApiRole.Agent);
        var request = new JsonObject
        {
            ["from"] = "support@rulemail.test", ["to"] = Addresses("to", to), ["cc"] = Addresses("cc", cc), ["bcc"] = Addresses("bcc", bcc),
            ["subject"] = "s", ["text"] = "t",
        };

        var response = await agent.PostAsJsonAsync($"api/v1/{path}", request);

        await MessagesEndpointsTests.AssertProblemAsync(response, HttpStatusCode.BadRequest, "to, cc, bcc: at most 1000 addresses in all, not 1001");
    }

    [Fact]
    public async Task A_thousand_addresses_are_still_answered()
    {
        var request = new JsonObject
        {
            ["from"] = "support@rulemail.test",
            ["to"] = new JsonArray([.. Enumerable.Range(0, 1000).Select(i => (JsonNode)$"to{i}@customer.test")]),
        };

        var response = await _client.PostAsJsonAsync("api/v1/options", request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_body_that_is_not_json_is_refused_with_415()
    {
        using var content = new StringContent("from=support@rulemail.test", Encoding.UTF8, "application/x-www-form-urlencoded");
        var response = await _client.PostAsync("api/v1/options", content);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var detail = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString();
        Assert.StartsWith("/api/v1/options does not take Content-Type application/x-www-form-urlencoded", detail, StringComparison.Ordinal);
    }

    private async Task<JsonElement> OptionsAsync(string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        var response = await _client.PostAsync("api/v1/options", content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    /// <summary>The service with a rule that requires encryption to partner.test.</summary>
    public sealed class Service : WebFixture
    {
        internal override void Prepare(HostHarness host) => host.AddRule("60-partner-encrypt.yaml", """
            rules:
              - name: partner mail is encrypted
                on: outgoing
                when:
                  to.domain: partner.test
                then:
                  encrypt: required
            """);
    }
}
