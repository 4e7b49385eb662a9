using System.Formats.Asn1;
using MimeKit;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;
using RuleMail.Json;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// Large opaque signed-data is walked by <see cref="LargeSignedData"/>, not by .NET's decoder: every legal BER form of
/// the encapsulated content (segments of any length, empty ones by the hundred thousand, nesting, long-form lengths)
/// must give the report the in-memory path gives, and be taken by the streamed path where it says it takes it.
/// </summary>
public sealed class LargeSignedDataEncodingTests(SmimeMail mail) : IClassFixture<SmimeMail>
{
    private static readonly string Body = string.Concat(Enumerable.Range(0, 2000).Select(i => $"Line {i} of a large message.\n"));
    private static readonly Asn1Tag Explicit0 = new(TagClass.ContextSpecific, 0, true);

    public static TheoryData<string, bool> Forms => new()
    {
        // name, whether the streamed walker takes it (else the in-memory path judges it, with the same report)
        { "primitive", true },
        { "primitive, long-form length", true },
        { "segments of definite length", true },
        { "segments, indefinite length, nested", true },
        { "200,000 empty segments first", true },
        { "nested 40 deep", false },
        { "one content byte changed", false },
    };

    [Theory]
    [MemberData(nameof(Forms))]
    public void Every_encoding_of_the_content_gives_the_in_memory_report(string form, bool streamed)
    {
        var raw = Message(Signed(content => Encode(form, content)));
        using var store = MailboxStore.With([mail["root.crt"], mail["inter.crt"], .. mail.WithPrivateKey(SmimeMail.Support)]);

        using var small = Inspect(store, raw, long.MaxValue);
        using var large = Inspect(store, raw, 1024);

        Assert.Equal(ContractJson.Serialize(small.Security), ContractJson.Serialize(large.Security));
        Assert.Equal(IncomingMail.TextOf(small.Message), IncomingMail.TextOf(large.Message));
        Assert.Equal(streamed, large.Spools.Any(s => !s.Stream.SafeFileHandle.IsClosed));
        Assert.Equal(form != "one content byte changed", small.Security.Sign!.Success);
    }

    private static byte[] Encode(string form, byte[] content) => form switch
    {
        "primitive" => Tlv(0x04, content),
        "primitive, long-form length" => [0x04, 0x84, (byte)(content.Length >> 24), (byte)(content.Length >> 16), (byte)(content.Length >> 8), (byte)content.Length, .. content],
        "segments of definite length" => Tlv(0x24, Tlv(0x04, content[..100]), Tlv(0x04, content[100..])),
        "segments, indefinite length, nested" => [0x24, 0x80, .. Tlv(0x04, content[..7]), 0x24, 0x80, .. Tlv(0x04, content[7..]), 0, 0, 0, 0],
        "200,000 empty segments first" => [0x24, 0x80, .. Enumerable.Repeat<byte[]>([0x04, 0x00], 200_000).SelectMany(b => b), .. Tlv(0x04, content), 0, 0],
        "nested 40 deep" => [.. Enumerable.Repeat<byte[]>([0x24, 0x80], 40).SelectMany(b => b), .. Tlv(0x04, content), .. new byte[80]],
        "one content byte changed" => Tlv(0x04, [.. content[..100], (byte)(content[100] ^ 1), .. content[101..]]),
        _ => throw new ArgumentException(form, nameof(form)),
    };

    private static IncomingReport Inspect(MailboxStore store, byte[] raw, long streamAbove) =>
        new IncomingSecurity(store.Store, null, streamAbove).Inspect(new MemoryStream(raw, writable: false), MailboxStore.Account);

    /// <summary>openssl's opaque signed-data of sam's message, its eContent (inside [0]) re-encoded by <paramref name="encode"/>.</summary>
    private byte[] Signed(Func<byte[], byte[]> encode)
    {
        var part = (MimePart)MimeMessage.Load(new MemoryStream(IncomingMail.WithHeaders(mail.CmsSign(IncomingMail.TextEntity(Body), SmimeMail.Sam, "-nodetach"), "sam@example.com", MailboxStore.Account))).Body!;
        using var decoded = new MemoryStream();
        part.Content!.DecodeTo(decoded);
        var info = new AsnReader(decoded.ToArray(), AsnEncodingRules.BER).ReadSequence();
        var type = info.ReadEncodedValue().ToArray();
        var signedData = info.ReadSequence(Explicit0).ReadSequence();
        var version = signedData.ReadEncodedValue().ToArray();
        var digests = signedData.ReadEncodedValue().ToArray();
        var encapsulated = signedData.ReadSequence();
        var contentType = encapsulated.ReadEncodedValue().ToArray();
        var content = encapsulated.ReadSequence(Explicit0).ReadOctetString();
        var rest = new List<byte[]>();
        while (signedData.HasData)
        {
            rest.Add(signedData.ReadEncodedValue().ToArray());
        }

        return Tlv(0x30, type, Tlv(0xA0, Tlv(0x30, [version, digests, Tlv(0x30, contentType, Tlv(0xA0, encode(content))), .. rest])));
    }

    private static byte[] Message(byte[] cms)
    {
        var entity = "Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n" +
                     "Content-Disposition: attachment; filename=smime.p7m\r\n\r\n" + Convert.ToBase64String(cms, Base64FormattingOptions.InsertLineBreaks) + "\r\n";
        return IncomingMail.WithHeaders(System.Text.Encoding.ASCII.GetBytes(entity), "sam@example.com", MailboxStore.Account, "Large and protected");
    }

    private static byte[] Tlv(byte tag, params byte[][] parts)
    {
        var content = parts.SelectMany(p => p).ToArray();
        return [tag, .. Length(content.Length), .. content];
    }

    private static byte[] Length(int length)
    {
        if (length < 128)
        {
            return [(byte)length];
        }

        var bytes = BitConverter.GetBytes(length).Reverse().SkipWhile(b => b == 0).ToArray();
        return [(byte)(0x80 | bytes.Length), .. bytes];
    }
}
