using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using MimeKit;
using RuleMail.Host.State;
using RuleMail.Web.Tests.Support;

namespace RuleMail.Web.Tests.Api;

/// <summary>
/// <c>POST /api/v1/compose</c>: the protected message, read back by the API's own check (support is encrypted to as
/// the sender, so its key opens it) and by openssl; 422 with the reason and no message when protection is impossible.
/// </summary>
public sealed class ComposeEndpointsTests(WebFixture service) : IClassFixture<WebFixture>, IAsyncLifetime
{
    private static readonly string[] Alice = ["alice@customer.test"];
    private static readonly string[] Bob = ["bob@partner.test"];
    private static readonly string[] Nobody = ["nobody@unknown.test"];
    private HttpClient _client = null!;

    public async Task InitializeAsync() => _client = await service.Web.ClientAsync(ApiRole.Agent);

    public Task DisposeAsync() => Task.CompletedTask;

    [Theory]
    [InlineData("alice@customer.test", "smime", "application/pkcs7-mime")]
    [InlineData("bob@partner.test", "pgp", "multipart/encrypted")]
    public async Task A_signed_and_encrypted_message_comes_back_and_checks_as_such(string to, string type, string mediaType)
    {
        var response = await _client.PostAsJsonAsync("api/v1/compose", new
        {
            from = "support@rulemail.test",
            to = new[] { to },
            subject = "Your ticket #42",
            text = "The answer is in the attachment.",
            attachments = new[] { new { name = "answer.txt", type = "text/plain", data = Convert.ToBase64String("forty-two"u8.ToArray()) } },
            sign = true,
            encrypt = true,
            type,
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("message/rfc822", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("encrypted", response.Headers.GetValues("RuleMail-Protection").Single(), StringComparison.Ordinal);
        var raw = await response.Content.ReadAsByteArrayAsync();
        var message = MimeMessage.Load(new MemoryStream(raw));
        Assert.Equal(mediaType, message.Body!.ContentType.MimeType);
        Assert.DoesNotContain("forty-two", System.Text.Encoding.UTF8.GetString(raw), StringComparison.Ordinal);

        using var content = new ByteArrayContent(raw);
        content.Headers.ContentType = new MediaTypeHeaderValue("message/rfc822");
        var check = await _client.PostAsync("api/v1/check?account=support@rulemail.test&out=mime", content);
        var security = JsonDocument.Parse(await check.Content.ReadAsStringAsync()).RootElement;
        Assert.True(security.GetProperty("security").GetProperty("encryption").GetProperty("success").GetBoolean(), security.ToString());
        Assert.True(security.GetProperty("security").GetProperty("sign").GetProperty("success").GetBoolean(), security.ToString());
        var decrypted = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(security.GetProperty("mime").GetString()!));
        Assert.Contains("forty-two", decrypted, StringComparison.Ordinal);
        Assert.Contains("answer.txt", decrypted, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Encryption_asked_for_but_impossible_is_a_422_with_the_reason_and_no_message()
    {
        var response = await _client.PostAsJsonAsync("api/v1/compose", new { from = "support@rulemail.test", to = Nobody, subject = "s", text = "secret", encrypt = true });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("secret", text, StringComparison.Ordinal);
        Assert.Contains("nobody@unknown.test", JsonDocument.Parse(text).RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_bcc_recipient_gets_a_copy_of_their_own_in_a_multipart_answer()
    {
        var response = await _client.PostAsJsonAsync("api/v1/compose", new { from = "support@rulemail.test", to = Alice, bcc = Bob, subject = "s", text = "t" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("multipart/mixed", response.Content.Headers.ContentType?.MediaType);
        var entity = MimeEntity.Load(ContentType.Parse(response.Content.Headers.ContentType!.ToString()), new MemoryStream(await response.Content.ReadAsByteArrayAsync()));
        var copies = ((Multipart)entity).OfType<MessagePart>().ToList();
        Assert.Equal(2, copies.Count);
        Assert.Empty(copies[0].Message!.Bcc);
        Assert.Equal("copy for bob@partner.test", copies[1].Headers[HeaderId.ContentDescription]);
        Assert.Equal("bob@partner.test", copies[1].Message!.Bcc.Mailboxes.Single().Address);
    }

    [Theory]
    [InlineData("""{"from": "support@rulemail.test", "subject": "s", "text": "t"}""", 422, "to: at least one recipient is required")]
    [InlineData("""{"from": "support@rulemail.test", "to": ["alice@customer.test"], "type": "gpg"}""", 422, "type must be smime or pgp, not 'gpg'")]
    [InlineData("""{"from": "support@rulemail.test", "to": ["alice@customer.test"], "attachments": [{"name": "a.txt"}]}""", 422, "attachments[0]: name and data (base64) are required")]
    [InlineData("""{"from": "support@rulemail.test", "to": ["alice@customer.test"], "attachments": [{"name": "a.txt", "data": "%%%"}]}""", 400, "the body is not JSON of the expected shape")]
    [InlineData("""{"from": "support@rulemail.test", "to": ["alice@customer.test"], "attachments": [{"name": "a.txt", "type": "no type", "data": "AA=="}]}""", 422, "attachments[0].type: 'no type' is not a media type")]
    [InlineData("""{"from": "support@rulemail.test", "to": ["alice@customer.test"], "sign": "yes"}""", 400, "the body is not JSON of the expected shape")]
    public async Task Bad_input_gets_one_clear_problem_line(string body, int status, string detail)
    {
        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        var response = await _client.PostAsync("api/v1/compose", content);

        Assert.Equal(status, (int)response.StatusCode);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.StartsWith(detail, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
