using System.Text.Json.Serialization;
using RuleMail.Composer;
using RuleMail.Crypto;

namespace RuleMail.Json;

/// <summary>
/// The source-generated metadata of every JSON contract in DESIGN.md. Names are snake_case; a null is written as
/// <c>null</c> unless the contract says the field is absent then (those members say so with <see cref="JsonIgnoreAttribute"/>).
/// Types reachable from these (the outcomes of a security result, the buttons of the options, ...) are generated too,
/// so a property added to a contract type appears in the JSON without touching this list.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(SecurityResult))]
[JsonSerializable(typeof(SecurityOptions))]
[JsonSerializable(typeof(CheckDocument))]
[JsonSerializable(typeof(ClusterStatusDocument))]
[JsonSerializable(typeof(KeyListDocument))]
[JsonSerializable(typeof(SmimeKeyListEntry))]
[JsonSerializable(typeof(PgpKeyListEntry))]
[JsonSerializable(typeof(CrlKeyListEntry))]
[JsonSerializable(typeof(KeyImportDocument))]
[JsonSerializable(typeof(WebhookPayload))]
[JsonSerializable(typeof(DecisionDocument))]
[JsonSerializable(typeof(ReadinessDocument))]
[JsonSerializable(typeof(OutboxEntryDocument))]
[JsonSerializable(typeof(OutboxListDocument))]
[JsonSerializable(typeof(RetryDocument))]
[JsonSerializable(typeof(LedgerListDocument))]
[JsonSerializable(typeof(LedgerEntryDocument))]
[JsonSerializable(typeof(RuleLintDocument))]
[JsonSerializable(typeof(RuleTestDocument))]
[JsonSerializable(typeof(RuleListDocument))]
internal sealed partial class ContractJsonContext : JsonSerializerContext;
