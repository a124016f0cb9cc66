using System.Collections.Concurrent;
using GraphPipe.Client;
using GraphPipe.Client.Balancing;
using GraphPipe.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace GraphPipe.FunctionalTests.LoadBalancing;

/// <summary>
/// A retry sends what is left of the request's budget (GraphPipe-Timeout), recomputed when it is sent, not the
/// value of the first attempt: two loopback replicas, the first answering 503 with Retry-After after a delay.
/// </summary>
public sealed class RetryBudgetTests
{
    private static readonly TimeSpan Delay = TimeSpan.FromMilliseconds(400);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Retry_FirstReplica503AfterADelay_TheSecondSeesTheSmallerBudget()
    {
        var seen = new ConcurrentQueue<(string Replica, long Budget)>();
        await using var slow = await StartAsync(seen, "slow", async context =>
        {
            await Task.Delay(Delay, context.RequestAborted);
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = "30";
        });
        await using var good = await StartAsync(seen, "good", null);
        using var group = EndpointGroup.Parse($"{slow.Urls.First()},{good.Urls.First()}");
        // The picker draws the first candidates: the first attempt goes to the slow replica, the retry to the good one.
        HttpMessageHandler chain = new BalancingHandler([group], new PowerOfTwoChoicesPicker(_ => 0)) { InnerHandler = new SocketsHttpHandler() };
        var retry = BalancingRetry.CreateHandler(group.Options)!;
        retry.InnerHandler = chain;
        using var http = new HttpClient(retry);
        var client = new GraphPipeClient(http, group.Address, new GraphPipeClientOptions { Deadline = TimeSpan.FromSeconds(5), Timeout = Limits.Step });

        var outputs = await client.InferFloatsAsync([1f, 2f], [1, 2], cancellationToken: Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal([1f, 2f], outputs);
        var attempts = seen.ToArray();
        Assert.Equal(["slow", "good"], attempts.Select(a => a.Replica));
        Assert.InRange(attempts[0].Budget, 4900, 5000);
        // The retry left after the slow replica's delay: its budget is smaller by at least that delay.
        Assert.InRange(attempts[1].Budget, 1, attempts[0].Budget - (long)Delay.TotalMilliseconds);
    }

    /// <summary>A GraphPipe identity stage on loopback recording each request's budget header, optionally answering first with <paramref name="answer"/>.</summary>
    private static async Task<WebApplication> StartAsync(ConcurrentQueue<(string, long)> seen, string name, Func<HttpContext, Task>? answer)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseGraphPipeListen("127.0.0.1:0");
        builder.Services.AddGraphPipeServing().AddStage(name, DelegateStage.Identity(name), isDefault: true);
        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            if (context.Request.Headers[GraphPipeTimeoutHeader.Name] is { Count: 1 } value)
            {
                seen.Enqueue((name, long.Parse(value.ToString(), System.Globalization.CultureInfo.InvariantCulture)));
            }

            if (answer is not null)
            {
                await answer(context);
                return;
            }

            await next(context);
        });
        app.MapGraphPipe();
        await app.StartAsync(Ct).WaitAsync(Limits.Step, Ct);
        return app;
    }
}
