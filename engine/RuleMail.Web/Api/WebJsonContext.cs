using System.Text.Json.Serialization;

namespace RuleMail.Web.Api;

/// <summary>The source-generated metadata of the API's request bodies (its answers are the contracts of <c>RuleMail.Json</c>).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(OptionsRequest))]
[JsonSerializable(typeof(ComposeRequest))]
[JsonSerializable(typeof(RetryRequest))]
[JsonSerializable(typeof(Ui.UiSession))]
internal sealed partial class WebJsonContext : JsonSerializerContext;
