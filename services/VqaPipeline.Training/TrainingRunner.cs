using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Ml;
using VqaPipeline.Ml.Data;
using VqaPipeline.Ml.Models;
using VqaPipeline.Ml.Models.Vilt;
using VqaPipeline.Ml.Onnx;
using VqaPipeline.Ml.Training;
using VqaPipeline.Storage;
using VqaPipeline.Training.Data;
using VqaPipeline.Hosting;

namespace VqaPipeline.Training;

/// <summary>
/// Trains one run: brings its data and starting model onto local disk, fine-tunes with the engine (resuming from the
/// run's newest checkpoint when a previous worker got that far), exports it to ONNX beside its weights, stores the
/// model folder as the model name's next version, and reports progress and the outcome on the bus and in the run's row.
/// </summary>
public sealed class TrainingRunner(
    IDbContextFactory<TrainingDbContext> databases, ObjectStore store, ModelLocator models, IOptions<TrainingOptions> options,
    IOptions<TrainingRunLimits> limits, TimeProvider clock, TrainingMetrics metrics, ILogger<TrainingRunner> logger)
{
    private const string CompleteMarker = ".complete";
    private readonly SemaphoreSlim _wake = new(0);

    /// <summary>Tells a waiting worker that a run may be there to take.</summary>
    public void Wake()
    {
        if (_wake.CurrentCount == 0) _wake.Release();
    }

    /// <summary>Waits until <see cref="Wake"/> or <paramref name="timeout"/>.</summary>
    public async Task WaitForWorkAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        await _wake.WaitAsync(timeout, cancellationToken);

    /// <summary>
    /// Runs <paramref name="claim"/>'s attempt at its run to its end, until the host stops, or until the attempt ends
    /// early: over its memory bound, or with an error other than a bad request (those end the attempt; the run is
    /// queued again until it has used its attempts).
    /// </summary>
    public async Task RunAsync(ClaimedRun claim, CancellationToken stoppingToken)
    {
        var runId = claim.Id;
        TrainingRequested request;
        string datasetPrefix;
        await using (var db = await databases.CreateDbContextAsync(stoppingToken))
        {
            var run = await db.TrainingRuns.AsNoTracking().SingleAsync(r => r.Id == runId, stoppingToken);
            request = JsonSerializer.Deserialize<TrainingRequested>(run.Request, JsonSerializerOptions.Web)!;
            datasetPrefix = run.DatasetPrefix ?? throw new InvalidOperationException($"training run {runId} was taken before its dataset was there");
        }

        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var progress = new ProgressBox();
        var heartbeat = HeartbeatAsync(claim, progress, attempt);
        var memory = MemoryWatch.BoundBytes(request.Settings.MaxMemoryMb, options.Value.MaxMemoryMb) is { } bound
            ? new MemoryWatch(bound, options.Value.MemorySampleInterval)
            : null;
        var watching = memory?.WatchAsync(attempt) ?? Task.CompletedTask;
        async Task EndWatchesAsync()
        {
            await attempt.CancelAsync();
            await Task.WhenAll(heartbeat, watching);
        }

        try
        {
            logger.LogInformation("Training run {RunId}: model {ModelName}, attempt {Attempt}", runId, LogText.Sanitize(request.ModelName), claim.Attempt);
            var result = await TrainAsync(request, datasetPrefix, progress, attempt.Token);
            // The heartbeat goes on through the upload: a run whose model is being stored is not taken over.
            await StoreModelAsync(claim, request, result, attempt.Token);
            await EndWatchesAsync();
        }
        catch (OperationCanceledException) when (attempt.IsCancellationRequested)
        {
            await EndWatchesAsync();
            if (memory?.Exceeded is { } overBound)
            {
                logger.LogWarning("Training run {RunId}: attempt {Attempt} stopped: {Reason}", runId, claim.Attempt, overBound);
                await EndAttemptAsync(claim, overBound, retry: true);
            }
            else if (stoppingToken.IsCancellationRequested)
                await ReleaseAsync(claim); // back in the queue: the next worker resumes from the last checkpoint
            else
                logger.LogWarning("Training run {RunId} is no longer this worker's (cancelled, or taken over after a silence); stopped here", runId);
        }
        catch (Exception exception)
        {
            await EndWatchesAsync();
            // A bad request or bad data fails the same way every time; anything else (out of memory, a disk, the
            // network) may not, so the run gets its other attempts.
            var permanent = exception is VqaPipelineException or InvalidDataException;
            var reason = permanent ? exception.Message : $"{exception.GetType().Name}: {exception.Message}";
            if (permanent)
                logger.LogWarning("Training run {RunId} failed: {Reason}", runId, reason);
            else
                logger.LogError(exception, "Training run {RunId}: attempt {Attempt} failed", runId, claim.Attempt);
            await EndAttemptAsync(claim, reason, retry: !permanent);
        }
    }

    private async Task<FineTuningResult> TrainAsync(TrainingRequested request, string datasetPrefix, ProgressBox progress,
        CancellationToken cancellationToken)
    {
        var workFolder = Path.Combine(options.Value.WorkFolder, "runs", request.RunId.ToString("N"));
        var data = await PrepareDataAsync(datasetPrefix, Path.Combine(workFolder, "data"), cancellationToken);
        var settings = request.Settings;
        CheckTrainingExamples(settings, data);
        var model = await StartingPointAsync(request.Start, request.TeamId, workFolder, cancellationToken);
        var output = Path.Combine(workFolder, "output");
        var fineTuning = new FineTuningOptions
        {
            DataFolder = data,
            OutputFolder = output,
            Model = model,
            Resume = TrainingCheckpoints.List(output).Count > 0,
            Epochs = settings.Epochs,
            MaxSteps = settings.MaxSteps,
            BatchSize = settings.BatchSize,
            GradientAccumulation = settings.GradientAccumulation,
            AdamW = new AdamWOptions { LearningRate = settings.LearningRate, WeightDecay = settings.WeightDecay },
            WarmupSteps = settings.WarmupSteps,
            Seed = settings.Seed,
            DType = DTypeAtSpeed(request),
            SaveEvery = settings.SaveEvery,
            KeepLast = options.Value.KeepCheckpoints,
            LogEvery = options.Value.LogEvery,
            Device = options.Value.Device,
            Progress = step =>
            {
                progress.Latest = step;
                metrics.Loss(request.RunId, (double)step.Loss);
            },
        };
        // Training saturates the CPU for hours: a thread of its own keeps the host's thread pool free.
        return await Task.Factory.StartNew(
            () => ViltFineTuningRun.Run(fineTuning, line => logger.LogInformation("Training run {RunId}: {Line}", request.RunId, line), cancellationToken),
            cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>
    /// The API bounds epochs × examples for a collection, whose labels it can count; a stored dataset is counted here,
    /// once it is on disk, so that a run of too many epochs over a large dataset fails at once instead of for days.
    /// </summary>
    private void CheckTrainingExamples(TrainingSettings settings, string dataFolder)
    {
        if (settings.MaxSteps is not null)
            return;
        var questions = VqaDataset.Open(dataFolder).Read().LongCount();
        var examples = settings.Epochs * questions;
        if (examples > limits.Value.MaxTrainingExamples)
            throw new TrainingRunException(
                $"'epochs' × the dataset's {questions} questions is {examples} examples, over the limit of {limits.Value.MaxTrainingExamples}");
    }

    /// <summary>
    /// The run's dtype, unless it would crawl here (bfloat16 on a CPU that only emulates it): then float32, with a
    /// warning, so that the run is trained rather than failed (docs/bfloat16.md).
    /// </summary>
    private string DTypeAtSpeed(TrainingRequested request)
    {
        var asked = request.Settings.DType;
        if (TorchRuntime.SlowDTypeReason(TorchRuntime.ResolveDType(asked), TorchRuntime.ResolveDevice(options.Value.Device)) is not { } reason)
            return asked;
        logger.LogWarning("Training run {RunId} asked for {DType}, which would crawl here ({Reason}): it trains in float32",
            request.RunId, asked, reason);
        return "float32";
    }

    /// <summary>
    /// The training data as a local folder, downloaded once per run: a stored VQA dataset as it is, or the collection's
    /// labels the ingestion service wrote for the run (an image folder: <c>metadata.jsonl</c> and the model-ready images).
    /// </summary>
    private async Task<string> PrepareDataAsync(string prefix, string folder, CancellationToken cancellationToken)
    {
        if (File.Exists(Path.Combine(folder, CompleteMarker)))
            return folder;
        if (Directory.Exists(folder))
            Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
        if (await store.DownloadFolderAsync(prefix, folder, cancellationToken) == 0)
            throw new TrainingRunException($"nothing is stored under '{prefix}'");
        await File.WriteAllTextAsync(Path.Combine(folder, CompleteMarker), "", cancellationToken);
        return folder;
    }

    private async Task<FineTuningModelSource> StartingPointAsync(TrainingStart start, Guid team, string workFolder, CancellationToken cancellationToken)
    {
        if (start.BaseModel is { } baseModel)
            return new FineTuningModelSource.Backbone(await ResolveModelAsync(baseModel, team, cancellationToken));
        var configPath = Path.Combine(workFolder, "start-config.json");
        await File.WriteAllTextAsync(configPath, start.ConfigJson ?? throw new TrainingRunException("the request names no starting point"),
            cancellationToken);
        return new FineTuningModelSource.FromConfig(configPath,
            await ResolveModelAsync(start.TokenizerModel ?? throw new TrainingRunException("'fromConfig' needs a tokenizer model"), team, cancellationToken));
    }

    /// <summary>A model reference as a local folder, as every service resolves one (stored models: the run's team's).</summary>
    private async Task<string> ResolveModelAsync(string reference, Guid team, CancellationToken cancellationToken)
    {
        try
        {
            return (await models.ResolveAsync(reference, team, cancellationToken)).Folder;
        }
        catch (ModelLocationException exception)
        {
            throw new TrainingRunException(exception.Message);
        }
    }

    /// <summary>
    /// Stores the trained folder as the name's next version, while the heartbeat goes on (an upload of a large model
    /// outlasts the heartbeat timeout). The number is reserved on the run first, under a per-name advisory lock, so two
    /// runs of one name never take the same number and a worker taking the run over uploads under the same one. The
    /// upload is retried; the version row, the run's completion and <see cref="ModelTrained"/> are committed together,
    /// once, by the claim that still holds the run.
    /// </summary>
    private async Task StoreModelAsync(ClaimedRun claim, TrainingRequested request, FineTuningResult result, CancellationToken cancellationToken)
    {
        if (await ReserveVersionAsync(claim, request.ModelName, cancellationToken) is not { } number)
        {
            LogLost(claim.Id);
            return;
        }
        var prefix = StoredModel.Of(request.ModelName, number, request.TeamId).Prefix;
        // Question jobs naming the version run it on ONNX Runtime (the runtime a GPU is reached through), from the
        // same weights; the export is deterministic, so a repeated upload writes the same file.
        var export = OnnxExporter.Export(result.OutputFolder, result.OutputFolder);
        logger.LogInformation("Training run {RunId}: exported {OnnxModel} ({Bytes} bytes)", request.RunId, export.ModelPath, export.Bytes);
        // config.json last: a model is found in storage by it, so nothing finds a half-uploaded version.
        await UploadWithRetriesAsync(request.RunId, result.OutputFolder, prefix,
            relative => !relative.StartsWith(TrainingCheckpoints.FolderName + "/", StringComparison.Ordinal) && relative != "config.json", cancellationToken);
        await UploadWithRetriesAsync(request.RunId, result.OutputFolder, prefix, relative => relative == "config.json", cancellationToken);

        // Not cancellable: once the commit is sent, the run is completed whatever this worker hears next.
        await using var db = await databases.CreateDbContextAsync(CancellationToken.None);
        await using var transaction = await db.Database.BeginTransactionAsync(CancellationToken.None);
        if (!await StillHeldAsync(db, claim, CancellationToken.None))
        {
            LogLost(claim.Id);
            return;
        }
        var now = clock.GetUtcNow();
        var version = new ModelVersion
        {
            Id = Guid.NewGuid(),
            TeamId = request.TeamId,
            Name = request.ModelName,
            Version = number,
            ObjectPrefix = prefix,
            TrainingRunId = request.RunId,
            TrainingExamples = result.TrainingExamples,
            CreatedAt = now,
        };
        db.ModelVersions.Add(version);
        var run = await db.TrainingRuns.SingleAsync(r => r.Id == request.RunId, CancellationToken.None);
        run.Status = TrainingRunStatus.Completed;
        run.ModelReference = version.Reference;
        run.Step = result.GlobalStep;
        run.TotalSteps = result.TotalSteps;
        run.Worker = null;
        run.Error = null; // an earlier attempt's reason, now moot
        run.UpdatedAt = now;
        var trained = new ModelTrained(request.RunId, request.ModelName, version.Version, version.Reference, result.TrainingExamples, now)
        {
            TeamId = request.TeamId,
        };
        await PublishAfterCommitAsync(db, trained, CancellationToken.None, transaction);
        logger.LogInformation("Training run {RunId} stored {Model}", request.RunId, LogText.Sanitize(version.Reference));
    }

    /// <summary>
    /// The version number the run stores its model under: the one an earlier claim of the run reserved, or the name's
    /// next (after its stored versions and those reserved by runs still running). Numbers are counted per team: each
    /// team's <c>shapes</c> starts at 1. Null when the claim lost the run.
    /// </summary>
    private async Task<int?> ReserveVersionAsync(ClaimedRun claim, string modelName, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await db.Database.ExecuteSqlInterpolatedAsync($"SELECT pg_advisory_xact_lock(hashtext({$"model-version:{claim.TeamId:D}:{modelName}"}))", cancellationToken);
        if (!await StillHeldAsync(db, claim, cancellationToken))
            return null;
        var reserved = await db.TrainingRuns.Where(r => r.Id == claim.Id).Select(r => r.ReservedVersion).SingleAsync(cancellationToken);
        if (reserved is { } earlier)
            return earlier;
        var stored = await db.ModelVersions.Where(m => m.TeamId == claim.TeamId && m.Name == modelName).MaxAsync(m => (int?)m.Version, cancellationToken) ?? 0;
        var reservedByOthers = await db.TrainingRuns
            .Where(r => r.TeamId == claim.TeamId && r.ModelName == modelName && r.Status == TrainingRunStatus.Running && r.Id != claim.Id)
            .MaxAsync(r => r.ReservedVersion, cancellationToken) ?? 0;
        var next = Math.Max(stored, reservedByOthers) + 1;
        await db.TrainingRuns.Where(r => r.Id == claim.Id).ExecuteUpdateAsync(set => set.SetProperty(r => r.ReservedVersion, next), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return next;
    }

    /// <summary>The fence: locks the run's row for the transaction if it is still this claim's and running.</summary>
    private static async Task<bool> StillHeldAsync(TrainingDbContext db, ClaimedRun claim, CancellationToken cancellationToken) =>
        (await db.Database.SqlQuery<Guid>(
            $"""
             SELECT id AS "Value" FROM training_runs
             WHERE id = {claim.Id} AND claim_token = {claim.Token} AND status = 'running' FOR UPDATE
             """).ToListAsync(cancellationToken)).Count == 1;

    private void LogLost(Guid runId) =>
        logger.LogWarning("Training run {RunId} is no longer this worker's (cancelled, or taken over after a silence); its model is not stored", runId);

    /// <summary>
    /// Uploads the files <paramref name="include"/> picks, again after a failure (an object store restarting, a
    /// network fault) up to <see cref="TrainingOptions.UploadAttempts"/> times, waiting longer each time; the upload
    /// overwrites whatever a failed try left.
    /// </summary>
    private async Task UploadWithRetriesAsync(Guid runId, string folder, string prefix, Func<string, bool> include, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await store.UploadFolderAsync(folder, prefix, include, cancellationToken);
                return;
            }
            catch (Exception exception) when (exception is not OperationCanceledException && attempt < options.Value.UploadAttempts)
            {
                var delay = options.Value.UploadRetryDelay * attempt;
                logger.LogWarning(exception, "Training run {RunId}: upload to {Prefix} failed (try {Attempt} of {Attempts}); again in {Delay}",
                    runId, prefix, attempt, options.Value.UploadAttempts, delay);
                await Task.Delay(delay, cancellationToken);
            }
        }
    }

    /// <summary>
    /// Ends an attempt that did not finish: the run is queued again with the reason while it has attempts left and
    /// <paramref name="retry"/> allows, and fails with it (and <see cref="TrainingFailed"/>) otherwise.
    /// </summary>
    private async Task EndAttemptAsync(ClaimedRun claim, string reason, bool retry)
    {
        await using var db = await databases.CreateDbContextAsync();
        var now = clock.GetUtcNow();
        if (retry && claim.Attempt < options.Value.MaxAttempts)
        {
            await db.Database.ExecuteSqlInterpolatedAsync(
                $"""
                 UPDATE training_runs SET status = 'queued', worker = NULL, error = {reason}, updated_at = {now}
                 WHERE id = {claim.Id} AND claim_token = {claim.Token} AND status = 'running'
                 """);
            Wake();
            return;
        }

        var failure = retry ? $"gave up after {claim.Attempt} attempts: {reason}" : reason;
        await using var transaction = await db.Database.BeginTransactionAsync();
        var failed = await db.TrainingRuns
            .Where(r => r.Id == claim.Id && r.ClaimToken == claim.Token && r.Status == TrainingRunStatus.Running)
            .ExecuteUpdateAsync(set => set
                .SetProperty(r => r.Status, TrainingRunStatus.Failed)
                .SetProperty(r => r.Error, failure)
                .SetProperty(r => r.Worker, (string?)null)
                .SetProperty(r => r.UpdatedAt, now));
        if (failed == 1)
            await PublishAfterCommitAsync(db, new TrainingFailed(claim.Id, failure) { TeamId = claim.TeamId }, CancellationToken.None, transaction);
    }

    /// <summary>Puts the run back in the queue without counting the attempt: the host stopped, the run did nothing wrong.</summary>
    private async Task ReleaseAsync(ClaimedRun claim)
    {
        await using var db = await databases.CreateDbContextAsync();
        await db.Database.ExecuteSqlInterpolatedAsync(
            $"""
             UPDATE training_runs SET status = 'queued', worker = NULL, attempts = attempts - 1, updated_at = {clock.GetUtcNow()}
             WHERE id = {claim.Id} AND claim_token = {claim.Token} AND status = 'running'
             """);
    }

    /// <summary>
    /// Says the worker is alive and records the latest progress, until <paramref name="claim"/> is cancelled. When the
    /// run is no longer this worker's (another took it over after a long silence), training is cancelled.
    /// </summary>
    private async Task HeartbeatAsync(ClaimedRun run, ProgressBox progress, CancellationTokenSource claim)
    {
        var runId = run.Id;
        var reported = 0;
        using var timer = new PeriodicTimer(options.Value.HeartbeatInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(claim.Token))
            {
                try
                {
                    var latest = progress.Latest;
                    await using var db = await databases.CreateDbContextAsync(claim.Token);
                    var now = clock.GetUtcNow();
                    var updated = latest is null
                        ? await db.Database.ExecuteSqlInterpolatedAsync(
                            $"UPDATE training_runs SET heartbeat_at = {now} WHERE id = {runId} AND claim_token = {run.Token} AND status = 'running'", claim.Token)
                        : await db.Database.ExecuteSqlInterpolatedAsync(
                            $"""
                             UPDATE training_runs SET heartbeat_at = {now}, updated_at = {now}, step = {latest.Step},
                                 total_steps = {latest.TotalSteps}, loss = {(double)latest.Loss}, examples_per_second = {latest.ExamplesPerSecond}
                             WHERE id = {runId} AND claim_token = {run.Token} AND status = 'running'
                             """, claim.Token);
                    if (updated == 0)
                    {
                        await claim.CancelAsync();
                        return;
                    }
                    if (latest is not null && latest.Step > reported)
                    {
                        reported = latest.Step;
                        await PublishAfterCommitAsync(db, new TrainingProgressed(runId, latest.Step, latest.TotalSteps, latest.Loss,
                            latest.ExamplesPerSecond) { TeamId = run.TeamId }, claim.Token);
                    }
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    logger.LogWarning(exception, "Training run {RunId}: heartbeat failed; retrying", runId);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// Commits <paramref name="db"/>'s changes together with <paramref name="message"/> in the outbox, which the
    /// dispatcher then publishes.
    /// </summary>
    private static async Task PublishAfterCommitAsync(
        TrainingDbContext db, object message, CancellationToken cancellationToken,
        Microsoft.EntityFrameworkCore.Storage.IDbContextTransaction? transaction = null)
    {
        db.AddOutgoing(message);
        await db.SaveChangesAsync(cancellationToken);
        if (transaction is not null)
            await transaction.CommitAsync(cancellationToken);
    }

    private sealed class ProgressBox
    {
        private FineTuningProgress? _latest;

        public FineTuningProgress? Latest
        {
            get => Volatile.Read(ref _latest);
            set => Volatile.Write(ref _latest, value);
        }
    }
}

/// <summary>A training run cannot go on: its data, starting model or request is unusable.</summary>
public sealed class TrainingRunException(string message) : VqaPipelineException(message);
