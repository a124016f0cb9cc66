namespace GraphPipe.Train;

/// <summary>
/// Multinomial logistic regression trained full-batch with L-BFGS on standardised features and an L2
/// penalty; the standardisation is folded back so the result applies to raw features. Deterministic
/// (zero initialisation, no randomness).
/// </summary>
internal static class SoftmaxRegression
{
    /// <summary>Returns W [dim, classes] row-major and b [classes] for raw features.</summary>
    public static (float[] Weights, float[] Bias, int Iterations, double Loss) Train(
        float[] features, int[] labels, int dim, int classes, double l2, int maxIterations, Action<string>? log = null)
    {
        var n = labels.Length;
        var (mean, std) = Moments(features, n, dim);
        var z = new double[n * dim];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < dim; j++) z[(i * dim) + j] = (features[(i * dim) + j] - mean[j]) / std[j];
        }

        // Parameters: W' [dim, classes] then b' [classes].
        var p = dim * classes;
        var theta = new double[p + classes];
        double Objective(double[] t, double[] grad) => LossAndGradient(z, labels, n, dim, classes, l2, t, grad);
        var (iterations, loss) = Lbfgs(theta, Objective, maxIterations, log);

        var weights = new float[p];
        var bias = new float[classes];
        for (var k = 0; k < classes; k++)
        {
            var b = theta[p + k];
            for (var j = 0; j < dim; j++)
            {
                var w = theta[(j * classes) + k] / std[j];
                weights[(j * classes) + k] = (float)w;
                b -= mean[j] * w;
            }

            bias[k] = (float)b;
        }

        return (weights, bias, iterations, loss);
    }

    /// <summary>Arg-max predictions of raw <paramref name="features"/> under (W, b).</summary>
    public static int[] Predict(float[] features, int n, int dim, int classes, float[] weights, float[] bias)
    {
        var predictions = new int[n];
        Parallel.For(0, n, i =>
        {
            var best = 0;
            var bestScore = double.NegativeInfinity;
            for (var k = 0; k < classes; k++)
            {
                double s = bias[k];
                for (var j = 0; j < dim; j++) s += features[(i * dim) + j] * weights[(j * classes) + k];
                if (s > bestScore) (best, bestScore) = (k, s);
            }

            predictions[i] = best;
        });
        return predictions;
    }

    private static (double[] Mean, double[] Std) Moments(float[] x, int n, int dim)
    {
        var mean = new double[dim];
        var std = new double[dim];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < dim; j++) mean[j] += x[(i * dim) + j];
        }

        for (var j = 0; j < dim; j++) mean[j] /= n;
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < dim; j++)
            {
                var d = x[(i * dim) + j] - mean[j];
                std[j] += d * d;
            }
        }

        for (var j = 0; j < dim; j++) std[j] = Math.Max(Math.Sqrt(std[j] / n), 1e-6);
        return (mean, std);
    }

    /// <summary>Mean cross-entropy + l2/2 * |W|^2 (bias not penalised); fills <paramref name="grad"/>.</summary>
    private static double LossAndGradient(double[] z, int[] labels, int n, int dim, int classes, double l2, double[] theta, double[] grad)
    {
        var p = dim * classes;
        const int chunks = 8; // Fixed, so the summation order (and the result) does not depend on the machine.
        var partialGrads = new double[chunks][];
        var partialLoss = new double[chunks];
        Parallel.For(0, chunks, c =>
        {
            var g = new double[theta.Length];
            var logits = new double[classes];
            double loss = 0;
            for (var i = c; i < n; i += chunks)
            {
                var row = z.AsSpan(i * dim, dim);
                for (var k = 0; k < classes; k++) logits[k] = theta[p + k];
                for (var j = 0; j < dim; j++)
                {
                    var v = row[j];
                    var w = theta.AsSpan(j * classes, classes);
                    for (var k = 0; k < classes; k++) logits[k] += v * w[k];
                }

                var max = logits.Max();
                double sum = 0;
                for (var k = 0; k < classes; k++) sum += logits[k] = Math.Exp(logits[k] - max);
                loss -= Math.Log(logits[labels[i]] / sum);
                for (var k = 0; k < classes; k++) logits[k] = (logits[k] / sum) - (k == labels[i] ? 1 : 0);
                for (var j = 0; j < dim; j++)
                {
                    var v = row[j];
                    var gw = g.AsSpan(j * classes, classes);
                    for (var k = 0; k < classes; k++) gw[k] += v * logits[k];
                }

                for (var k = 0; k < classes; k++) g[p + k] += logits[k];
            }

            partialGrads[c] = g;
            partialLoss[c] = loss;
        });

        Array.Clear(grad);
        double total = 0;
        for (var c = 0; c < chunks; c++)
        {
            total += partialLoss[c];
            for (var i = 0; i < grad.Length; i++) grad[i] += partialGrads[c][i];
        }

        total /= n;
        for (var i = 0; i < grad.Length; i++) grad[i] /= n;
        double reg = 0;
        for (var i = 0; i < p; i++)
        {
            reg += theta[i] * theta[i];
            grad[i] += l2 * theta[i];
        }

        return total + (0.5 * l2 * reg);
    }

    /// <summary>Limited-memory BFGS (m = 10) with a backtracking Armijo line search; minimises in place.</summary>
    private static (int Iterations, double Loss) Lbfgs(double[] x, Func<double[], double[], double> f, int maxIterations, Action<string>? log)
    {
        const int m = 10;
        var dimension = x.Length;
        var g = new double[dimension];
        var fx = f(x, g);
        var s = new List<double[]>();
        var y = new List<double[]>();
        var direction = new double[dimension];
        var xNew = new double[dimension];
        var gNew = new double[dimension];
        var iteration = 0;
        for (; iteration < maxIterations; iteration++)
        {
            // Two-loop recursion: direction = -H g.
            Array.Copy(g, direction, dimension);
            var alpha = new double[s.Count];
            for (var i = s.Count - 1; i >= 0; i--)
            {
                alpha[i] = Dot(s[i], direction) / Dot(y[i], s[i]);
                Axpy(-alpha[i], y[i], direction);
            }

            if (s.Count > 0)
            {
                var last = s.Count - 1;
                var gamma = Dot(s[last], y[last]) / Dot(y[last], y[last]);
                for (var i = 0; i < dimension; i++) direction[i] *= gamma;
            }

            for (var i = 0; i < s.Count; i++)
            {
                var beta = Dot(y[i], direction) / Dot(y[i], s[i]);
                Axpy(alpha[i] - beta, s[i], direction);
            }

            for (var i = 0; i < dimension; i++) direction[i] = -direction[i];
            var slope = Dot(g, direction);
            if (slope >= 0)
            {
                // Not a descent direction: restart from steepest descent.
                s.Clear();
                y.Clear();
                for (var i = 0; i < dimension; i++) direction[i] = -g[i];
                slope = Dot(g, direction);
            }

            var step = s.Count == 0 ? Math.Min(1.0, 1.0 / Math.Sqrt(Dot(g, g))) : 1.0;
            double fNew;
            var tries = 0;
            while (true)
            {
                for (var i = 0; i < dimension; i++) xNew[i] = x[i] + (step * direction[i]);
                fNew = f(xNew, gNew);
                if (fNew <= fx + (1e-4 * step * slope) || ++tries > 30) break;
                step *= 0.5;
            }

            var sk = new double[dimension];
            var yk = new double[dimension];
            for (var i = 0; i < dimension; i++)
            {
                sk[i] = xNew[i] - x[i];
                yk[i] = gNew[i] - g[i];
            }

            Array.Copy(xNew, x, dimension);
            Array.Copy(gNew, g, dimension);
            var improvement = fx - fNew;
            fx = fNew;
            if (Dot(sk, yk) > 1e-12)
            {
                s.Add(sk);
                y.Add(yk);
                if (s.Count > m)
                {
                    s.RemoveAt(0);
                    y.RemoveAt(0);
                }
            }

            if ((iteration + 1) % 25 == 0) log?.Invoke($"    iteration {iteration + 1}: loss {fx:F5}, |grad| {Math.Sqrt(Dot(g, g)):E2}");
            if (Math.Sqrt(Dot(g, g)) < 1e-6 || (improvement >= 0 && improvement < 1e-10)) { iteration++; break; }
        }

        return (iteration, fx);
    }

    private static double Dot(double[] a, double[] b)
    {
        double sum = 0;
        for (var i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    private static void Axpy(double a, double[] x, double[] y)
    {
        for (var i = 0; i < x.Length; i++) y[i] += a * x[i];
    }
}
