using RuleMail.Core.Tests.Support;
using RuleMail.Keys;

namespace RuleMail.Core.Tests.Keys;

/// <summary>Importing what is already there changes nothing: not an entry, not a byte.</summary>
public sealed class ImportTwiceTests(OpenSslKeys openssl, GpgKeys gpg) : IClassFixture<OpenSslKeys>, IClassFixture<GpgKeys>
{
    private const string Q = Passphrases.File;

    public static TheoryData<string> Sets => ["smime", "smime-der-and-legacy", "pgp", "pgp-domain-alias"];

    [Theory]
    [MemberData(nameof(Sets))]
    public void A_second_import_of_the_same_files_reports_every_entry_unchanged_and_rewrites_no_file(string set)
    {
        using var store = new TestStore();
        var (files, alias) = Files(set);
        var first = store.Store.Import(files, Q, alias);
        var before = store.Snapshot();

        var second = store.Open().Import(files, Q, alias);

        Assert.Equal(first.Select(i => i.Entry.Fingerprint).Order(), second.Select(i => i.Entry.Fingerprint).Order());
        Assert.All(second, i => Assert.Equal(ImportChange.Unchanged, i.Change));
        before.AssertSameAs(store.Snapshot());
    }

    [Fact]
    public void A_public_key_imported_after_its_secret_key_changes_nothing()
    {
        using var store = new TestStore();
        store.Import(Q, gpg["rita.sec.asc"]);
        var before = store.Snapshot();

        var imported = store.Import(gpg["rita.pub.gpg"]);

        Assert.Equal(ImportChange.Unchanged, Assert.Single(imported).Change);
        before.AssertSameAs(store.Snapshot());
    }

    [Fact]
    public void A_certificate_imported_after_its_PKCS12_changes_nothing()
    {
        using var store = new TestStore();
        store.Import(Q, openssl["alice.p12"]);
        var before = store.Snapshot();

        var imported = store.Import(openssl["alice.der"], openssl["alice.pkcs8.pem"]);

        Assert.Equal(ImportChange.Unchanged, Assert.Single(imported).Change);
        before.AssertSameAs(store.Snapshot());
    }

    private (ImportFile[] Files, string? Alias) Files(string set) => set switch
    {
        "smime" => ([openssl["ca.crt"], openssl["alice.p12"], openssl["erin.crt"], openssl["erin.ecparam.pem"], openssl["bob.crt"], openssl["crl.pem"], openssl["frank.crt"]], null),
        "smime-der-and-legacy" => ([openssl["ca.crt"], openssl["alice.der"], openssl["alice.legacy.pem"], openssl["bob.crt"], openssl["crl.der"]], null),
        "pgp" => ([gpg["rita.sec.asc"], gpg["edna.pub.gpg"], gpg["edna.sec.gpg"], gpg["uma.pub.asc"], gpg["rex.pub.asc"], gpg["rex.rev.asc"], gpg["nia.sec.asc"]], null),
        "pgp-domain-alias" => ([gpg["desk.pub.asc"]], "example.org"),
        _ => throw new ArgumentOutOfRangeException(nameof(set), set, null),
    };
}
