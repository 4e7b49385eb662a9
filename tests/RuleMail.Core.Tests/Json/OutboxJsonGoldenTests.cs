using RuleMail.Json;

namespace RuleMail.Core.Tests.Json;

/// <summary>The HTTP API's outbox documents pinned by golden files, as <c>GET /api/v1/outbox</c> and <c>/outbox/{id}</c> write them.</summary>
public sealed class OutboxJsonGoldenTests
{
    private static readonly OutboxEntryDocument Held = new(
        "20261201T101500-3f2a9c0d1e4b5a67",
        "support",
        "held",
        "Cannot encrypt with S/MIME: no valid certificate for stranger@unknown.test",
        0,
        null,
        new DateTimeOffset(2026, 12, 1, 10, 15, 0, 125, TimeSpan.Zero),
        null,
        "Your contract \"draft\" <3>",
        ["stranger@unknown.test"],
        "/api/v1/outbox/20261201T101500-3f2a9c0d1e4b5a67");

    private static readonly OutboxEntryDocument Retrying = new(
        "ticket-4711",
        "support",
        "queued",
        "smtp 127.0.0.1:587: connection refused",
        2,
        new DateTimeOffset(2026, 12, 1, 10, 20, 0, TimeSpan.Zero),
        new DateTimeOffset(2026, 12, 1, 10, 16, 0, TimeSpan.Zero),
        "4711@rulemail.test",
        null,
        null,
        "/api/v1/outbox/ticket-4711");

    [Fact]
    public void A_held_message_with_its_reason_subject_and_recipients() =>
        GoldenFile.AssertMatches("outbox-entry", ContractJson.Serialize(Held, indented: true));

    [Fact]
    public void The_list_newest_first_with_a_message_whose_file_is_gone() =>
        GoldenFile.AssertMatches("outbox-list", ContractJson.Serialize(new OutboxListDocument([Held, Retrying]), indented: true));
}
