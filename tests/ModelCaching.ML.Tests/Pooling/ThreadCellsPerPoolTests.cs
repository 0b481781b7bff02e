using System.Diagnostics;
using Microsoft.ML;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Pooling;

/// <summary>
/// A thread keeps one engine per pool (issue 18): a thread that predicted with one pool still reaches the fast path of
/// the next, a disposed pool's stale cell does not block the pool that reuses its index, and a quiet thread's cell
/// goes to a busy thread.
/// </summary>
public sealed class ThreadCellsPerPoolTests
{
    [Fact]
    public void TwoPoolsOnOneThread_EachKeepsItsOwnEngineInThisThread()
    {
        using ModelCache<ITransformer> firstCache = PoolFactory.Cache<IrisData, IrisPrediction>(TestModels.IrisPath, "iris-a");
        using ModelCache<ITransformer> secondCache = PoolFactory.Cache<IrisData, IrisPrediction>(TestModels.IrisPath, "iris-b");
        using PredictionPool<IrisData, IrisPrediction> first = PoolFactory.Pool<IrisData, IrisPrediction>(firstCache);
        using PredictionPool<IrisData, IrisPrediction> second = PoolFactory.Pool<IrisData, IrisPrediction>(secondCache);

        // On a new thread, so no other test's pool has used this thread's cells.
        RunOnNewThread(() =>
        {
            for (int i = 0; i < 50; i++)
            {
                Assert.Equal(2f, first.Predict(TestModels.Virginica).PredictedLabel);
                Assert.Equal(2f, second.Predict(TestModels.Virginica).PredictedLabel);
            }

            // Before, the thread had one cell, taken by the first pool: the second paid the slots on every call.
            Assert.Equal(first.ServingGeneration!.Id, EngineCell.Get(first.PoolIndex)?.GenerationId);
            Assert.Equal(second.ServingGeneration!.Id, EngineCell.Get(second.PoolIndex)?.GenerationId);
        });

        Assert.NotEqual(first.PoolIndex, second.PoolIndex);
        Assert.Equal(1, first.GetStatistics().EnginesCreated);
        Assert.Equal(1, second.GetStatistics().EnginesCreated);
    }

    [Fact]
    public void RevokedCellAtThePoolsIndex_IsReplacedByTheFirstKeptEngine()
    {
        using var models = new CountingModels();
        using PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(models.Cache);
        RunOnNewThread(() =>
        {
            // What a disposed pool that had this index leaves in a thread: a cell of a generation retired and revoked.
            var stale = new EngineCell(EngineCell.NextGenerationId(), new object(), new object(), index: 0) { Revoked = 1, Engine = null };
            EngineCell.Set(pool.PoolIndex, stale);

            pool.Predict(TestModels.Virginica);
            EngineCell? kept = EngineCell.Get(pool.PoolIndex);
            Assert.NotSame(stale, kept);
            Assert.Equal(pool.ServingGeneration!.Id, kept?.GenerationId);

            pool.Predict(TestModels.Virginica);
            Assert.Equal(1, kept!.Uses);
        });
    }

    [Fact]
    public void DisposedPool_RevokesTheCellsItLeavesInThreads()
    {
        using var models = new CountingModels();
        var pool = PoolFactory.Pool<IrisData, IrisPrediction>(models.Cache);
        EngineCell? cell = null;
        RunOnNewThread(() =>
        {
            pool.Predict(TestModels.Virginica);
            cell = EngineCell.Get(pool.PoolIndex);
        });

        Assert.NotNull(cell);
        pool.Dispose();

        // Its index may go to the next pool: that pool's first kept engine replaces this cell only because it is revoked.
        Assert.Equal(1, cell.Revoked);
        Assert.Null(cell.Engine);
    }

    [Fact]
    public async Task BusyThread_GetsTheCellOfAThreadThatWentQuiet()
    {
        using var models = new CountingModels();

        // Two engines: one cell (at most half the engines), taken first by the quiet thread.
        using PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(models.Cache, o => o.MaximumEngines = 2);
        using var predicted = new ManualResetEventSlim();
        using var finish = new ManualResetEventSlim();
        EngineCell? quietCell = null;
        var quiet = new Thread(() =>
        {
            pool.Predict(TestModels.Virginica);
            quietCell = EngineCell.Get(pool.PoolIndex);
            predicted.Set();
            finish.Wait();
        }) { IsBackground = true };
        quiet.Start();
        Assert.True(predicted.Wait(Eventually.Timeout));
        Assert.NotNull(quietCell);

        try
        {
            EngineCell? busyCell = null;
            var watch = Stopwatch.StartNew();
            await Task.Factory.StartNew(
                () =>
                {
                    // Misses count per thread: every 256th looks for quiet cells, at most every 50 ms.
                    while (busyCell is null && watch.Elapsed < Eventually.Timeout)
                    {
                        Assert.Equal(2f, pool.Predict(TestModels.Virginica).PredictedLabel);
                        busyCell = EngineCell.Get(pool.PoolIndex) is { } cell && cell.GenerationId == pool.ServingGeneration!.Id && cell.Revoked == 0 ? cell : null;
                    }
                },
                TaskCreationOptions.LongRunning);

            Assert.NotNull(busyCell);
            Assert.Equal(1, quietCell.Revoked);
            Assert.Null(quietCell.Engine);
            Assert.True(pool.CurrentGenerationLiveEngines <= 2);
        }
        finally
        {
            finish.Set();
            quiet.Join();
        }
    }

    private static void RunOnNewThread(Action action)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                action();
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        });
        thread.Start();
        Assert.True(thread.Join(Eventually.Timeout));
        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }
    }
}
