using System.Collections.Concurrent;
using RuleMail.Core.Tests.Support;
using RuleMail.Keys;

namespace RuleMail.Core.Tests.Keys;

/// <summary>Lookups on many threads while the store changes; several writers and processes on one folder.</summary>
public sealed class ConcurrencyTests(OpenSslKeys openssl, GpgKeys gpg) : IClassFixture<OpenSslKeys>, IClassFixture<GpgKeys>
{
    private const string Q = Passphrases.File;

    [Fact]
    public async Task Lookups_on_several_threads_see_a_consistent_store_while_another_thread_imports_and_removes()
    {
        using var store = new TestStore();
        store.Import(Q, openssl["alice.p12"], gpg["rita.sec.asc"]);
        ImportFile[][] changes =
        [
            [openssl["ca.crt"], openssl["bob.crt"]], [openssl["crl.pem"]], [gpg["edna.pub.asc"], gpg["uma.pub.asc"]],
            [openssl["erin.crt"], openssl["erin.pkcs8.pem"], openssl["frank.crt"]], [gpg["nia.sec.asc"]],
        ];
        var errors = new ConcurrentQueue<Exception>();
        var lookups = 0;
        using var done = new CancellationTokenSource();

        var readers = Enumerable.Range(0, 2).Select(reader => Task.Run(() =>
        {
            while (!done.IsCancellationRequested || Volatile.Read(ref lookups) < 100)
            {
                try
                {
                    // alice and rita are there from start to end: every snapshot must show them.
                    Assert.NotNull(store.Store.FindSmime("alice@example.org", KeyUsages.Encrypt, needPrivateKey: true));
                    Assert.NotNull(store.Store.FindPgp("RITA@example.org", KeyUsages.Sign, needPrivateKey: true));
                    _ = store.Store.FindSmime("bob@example.org");
                    _ = store.Store.FindPgp("edna@example.org", KeyUsages.Encrypt);
                    _ = store.Store.Entries.Count;
                    Interlocked.Increment(ref lookups);

                    // Two cores: leave the importing thread its share.
                    Thread.Yield();
                }
#pragma warning disable CA1031 // Every failure on a reader thread is collected and reported below.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    errors.Enqueue(e);
                    return;
                }
            }
        })).ToArray();

        foreach (var files in changes)
        {
            store.Store.Import(files, Q);
        }

        store.Store.Remove(gpg.Fingerprint("uma"));
        store.Store.Remove(Assert.Single(store.Store.FindSmime("frank@example.org")).Fingerprint);
        await done.CancelAsync();
        await Task.WhenAll(readers);

        Assert.Empty(errors);
        Assert.True(lookups >= 100, $"only {lookups} lookups ran");
        Assert.Equal(KeyStatus.Revoked, Assert.Single(store.Store.FindSmime("bob@example.org")).StatusAt(store.Time.GetUtcNow()));
        Assert.NotNull(store.Store.FindPgp("nia@example.org", KeyUsages.Encrypt, needPrivateKey: true));
    }

    [Fact]
    public async Task Private_keys_opened_on_many_threads_at_once_are_opened_once()
    {
        using var store = new TestStore();
        store.Import(Q, openssl["alice.p12"], gpg["edna.sec.gpg"]);
        var certificate = Assert.Single(store.Store.Certificates);
        var key = Assert.Single(store.Store.PgpKeys);
        var keyId = Convert.ToInt64(key.Keys[1].KeyId, 16);

        var opened = await Task.WhenAll(Enumerable.Range(0, 8)
            .Select(thread => Task.Run(() => (Certificate: store.Store.OpenPrivateKey(certificate), Key: store.Store.OpenPrivateKey(key, keyId)))));

        Assert.All(opened, o => Assert.Same(opened[0].Certificate, o.Certificate));
        Assert.All(opened, o => Assert.Same(opened[0].Key, o.Key));
        Assert.True(opened[0].Certificate.HasPrivateKey);
    }

    [Fact]
    public async Task Two_stores_on_one_folder_importing_at_the_same_time_both_land()
    {
        using var store = new TestStore();
        store.Import(openssl["ca.crt"]);
        var first = store.Open();
        var second = store.Open();
        using var start = new Barrier(2);

        var a = Task.Run(() => { start.SignalAndWait(); return first.Import([openssl["alice.p12"], gpg["rita.sec.asc"], openssl["crl.pem"]], Q); });
        var b = Task.Run(() => { start.SignalAndWait(); return second.Import([openssl["erin.p12"], gpg["edna.sec.asc"], openssl["bob.crt"]], Q); });
        await Task.WhenAll(a, b);

        var reopened = store.Open();
        Assert.Equal(7, reopened.Entries.Count);
        Assert.NotNull(reopened.FindSmime("alice@example.org", KeyUsages.Sign, needPrivateKey: true));
        Assert.NotNull(reopened.FindSmime("erin@example.org", KeyUsages.Sign, needPrivateKey: true));
        Assert.NotNull(reopened.FindPgp("rita@example.org", KeyUsages.Encrypt, needPrivateKey: true));
        Assert.NotNull(reopened.FindPgp("edna@example.org", KeyUsages.Encrypt, needPrivateKey: true));
        Assert.Equal(KeyStatus.Revoked, Assert.Single(reopened.FindSmime("bob@example.org")).StatusAt(store.Time.GetUtcNow()));
    }

    [Fact]
    public void A_store_sees_what_another_process_imported_after_Reload_and_opens_a_key_it_could_not_open_before()
    {
        using var store = new TestStore();
        store.Import(Q, openssl["alice.p12"]);
        var host = store.Open();
        var cli = store.Open();
        var alice = Assert.Single(host.Certificates);
        cli.Remove(alice.Fingerprint);
        Assert.Throws<KeyStoreException>(() => host.OpenPrivateKey(alice));

        cli.Import([openssl["alice.p12"], gpg["edna.pub.asc"]], Q);
        Assert.Empty(host.FindPgp("edna@example.org"));
        host.Reload();

        Assert.Single(host.FindPgp("edna@example.org"));
        using var opened = host.OpenPrivateKey(Assert.Single(host.Certificates));
        Assert.True(opened.HasPrivateKey);
    }
}
