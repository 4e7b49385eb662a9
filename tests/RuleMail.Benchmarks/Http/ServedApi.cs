using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using RuleMail.Host.Tests.Support;

namespace RuleMail.Benchmarks.Http;

/// <summary>
/// <c>rulemail serve</c> in a process of its own on a free loopback port, over the harness's config (the sample key
/// store, the shipped rules, fresh SQLite state), with an agent token made by <c>rulemail tokens create</c>. A process of
/// its own because that is what a ticket system talks to, and so the load loop's allocations, GC and thread pool are
/// not the service's: the two share only the machine's cores.
/// </summary>
internal sealed class ServedApi : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private ServedApi(Process process, Uri baseAddress, string token, string configPath)
    {
        _process = process;
        BaseAddress = baseAddress;
        Token = token;
        ConfigPath = configPath;
    }

    public Uri BaseAddress { get; }

    /// <summary>An agent token (may call options and check).</summary>
    public string Token { get; }

    public string ConfigPath { get; }

    public int ProcessId => _process.Id;

    /// <summary>The service process's CPU time so far (user + system, all its threads).</summary>
    public TimeSpan CpuTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    /// <summary>Writes the config, makes the token with the CLI, starts the service and waits until it answers.</summary>
    public static async Task<ServedApi> StartAsync(HostHarness harness)
    {
        var port = LoopbackPort.PickFree();
        await File.WriteAllTextAsync(harness.ConfigPath, $"""
            keystore: {harness.KeystoreDirectory}
            keystore_passphrase_file: {Path.Combine(HostHarness.RepositoryRoot, "keystore-sample", "passphrase.txt")}
            rules: {harness.RulesDirectory}
            state: {harness.StatePath}
            http:
              listen: {LoopbackPort.Host}:{port}
            """);
        var token = RuleMailProcess.Run(harness.Folder.Path, "tokens", "create", "bench", "--role", "agent", "--config", harness.ConfigPath).Trim();
        var process = Process.Start(RuleMailProcess.Start(harness.Folder.Path, "serve", "--config", harness.ConfigPath))
            ?? throw new InvalidOperationException("rulemail serve did not start");
        var served = new ServedApi(process, new Uri($"http://{LoopbackPort.Host}:{port}/"), token, harness.ConfigPath);
        process.OutputDataReceived += (_, e) => served.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => served.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await served.WaitUntilHealthyAsync(TimeSpan.FromSeconds(60));
        return served;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // Only the process this benchmark started, by its handle.
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > 50 && _output.TryDequeue(out _))
        {
        }
    }

    private async Task WaitUntilHealthyAsync(TimeSpan limit)
    {
        using var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < limit)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"rulemail serve exited ({_process.ExitCode}):\n{string.Join('\n', _output)}"));
            }

            try
            {
                if ((await client.GetAsync("healthz")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        throw new InvalidOperationException($"rulemail serve did not answer /healthz within {limit.TotalSeconds} s:\n{string.Join('\n', _output)}");
    }
}
