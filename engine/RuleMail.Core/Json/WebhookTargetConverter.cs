using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using RuleMail.Rules;

namespace RuleMail.Json;

/// <summary>Writes a <see cref="WebhookTarget"/> as a string or a map and reads both (timeouts as a rule writes them).</summary>
internal sealed class WebhookTargetConverter : JsonConverter<WebhookTarget>
{
    public override WebhookTarget Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return new WebhookTarget(reader.GetString()!, null);
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("a webhook is a URL or a map with url, timeout, secret_env and include");
        }

        string? url = null;
        TimeSpan? timeout = null;
        string? secretEnv = null;
        var include = WebhookInclude.None;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var name = reader.GetString();
            reader.Read();
            switch (name)
            {
                case "url":
                    url = reader.GetString();
                    break;
                case "timeout":
                    timeout = reader.GetString() is { } text ? ParseDuration(text) : null;
                    break;
                case "secret_env":
                    secretEnv = reader.GetString();
                    break;
                case "include" when reader.TokenType == JsonTokenType.StartArray:
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        include |= reader.GetString() switch
                        {
                            "text" => WebhookInclude.Text,
                            "html" => WebhookInclude.Html,
                            "mime" => WebhookInclude.Mime,
                            var other => throw new JsonException($"not a webhook include: {other}"),
                        };
                    }

                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        return new WebhookTarget(url ?? throw new JsonException("a webhook map needs its url"), timeout, secretEnv, include);
    }

    public override void Write(Utf8JsonWriter writer, WebhookTarget value, JsonSerializerOptions options)
    {
        if (value.IsPlain)
        {
            writer.WriteStringValue(value.Url);
            return;
        }

        writer.WriteStartObject();
        writer.WriteString("url", value.Url);
        if (value.Timeout is { } timeout)
        {
            writer.WriteString("timeout", DecisionJson.Duration(timeout));
        }

        if (value.SecretEnv is { } secretEnv)
        {
            writer.WriteString("secret_env", secretEnv);
        }

        if (value.Include != WebhookInclude.None)
        {
            writer.WriteStartArray("include");
            foreach (var name in value.IncludeNames)
            {
                writer.WriteStringValue(name);
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
    }

    private static TimeSpan ParseDuration(string text)
    {
        var milliseconds = text.EndsWith("ms", StringComparison.Ordinal);
        var number = milliseconds ? text[..^2] : text.EndsWith('s') ? text[..^1] : throw new JsonException($"not a duration: {text}");
        var value = long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw new JsonException($"not a duration: {text}");
        return milliseconds ? TimeSpan.FromMilliseconds(value) : TimeSpan.FromSeconds(value);
    }
}
