using System.Text.Json.Serialization;

namespace RuleMail.Json;

/// <summary>
/// One webhook of a decision as JSON: a plain URL stays a string (the shape every reader knows); one with settings
/// is written as its map, <c>{"url": URL, "timeout": "20s"}</c>.
/// </summary>
/// <param name="Timeout">The rule's timeout, null when it gave none (the default applies).</param>
[JsonConverter(typeof(WebhookTargetConverter))]
public sealed record WebhookTarget(string Url, TimeSpan? Timeout);
