// The inpainting mask, painted over the start image with a mouse, pen or finger. Loaded
// lazily (only when inpainting is chosen), so the first load stays small. The mask goes up
// as a PNG of the start image's size: white where painted (repainted), black elsewhere
// (kept). Nothing of it is stored: it lives in this page's memory until the job is sent.
import { useEffect, useMemo, useRef, useState } from "react";
import type { PointerEvent } from "react";
import type { StartImage } from "../lib/generateForm";

interface Stroke {
  size: number;
  erase: boolean;
  points: [number, number][];
}

const OVERLAY = "#d6004c";

function draw(ctx: CanvasRenderingContext2D, stroke: Stroke, paint: string, clear: string | null) {
  ctx.save();
  if (stroke.erase && clear === null) ctx.globalCompositeOperation = "destination-out";
  const colour = stroke.erase ? (clear ?? "#000") : paint;
  ctx.strokeStyle = colour;
  ctx.fillStyle = colour;
  ctx.lineWidth = stroke.size;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  const [first, ...rest] = stroke.points;
  if (rest.length === 0) {
    ctx.beginPath();
    ctx.arc(first[0], first[1], stroke.size / 2, 0, Math.PI * 2);
    ctx.fill();
  } else {
    ctx.beginPath();
    ctx.moveTo(first[0], first[1]);
    for (const [x, y] of rest) ctx.lineTo(x, y);
    ctx.stroke();
  }
  ctx.restore();
}

/** The strokes as the mask the API takes, and the share of the image painted. */
async function toMask(strokes: Stroke[], width: number, height: number): Promise<{ file: File; share: number }> {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  if (!ctx) throw new Error("This browser cannot draw the mask.");
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, width, height);
  for (const stroke of strokes) draw(ctx, stroke, "#fff", "#000");
  const pixels = ctx.getImageData(0, 0, width, height).data;
  let painted = 0;
  for (let i = 0; i < pixels.length; i += 4) if (pixels[i] >= 128) painted += 1;
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, "image/png"));
  if (!blob) throw new Error("This browser cannot save the mask.");
  return { file: new File([blob], "mask.png", { type: "image/png" }), share: painted / (width * height) };
}

export default function MaskPainter({
  image,
  onChange,
  describedBy,
}: {
  image: StartImage;
  /** The mask as a PNG, or null when nothing is painted. */
  onChange: (mask: File | null) => void;
  describedBy?: string;
}) {
  const { width, height } = image;
  const longest = Math.max(width, height);
  const maxBrush = Math.max(8, Math.round(longest / 4));
  const [brush, setBrush] = useState(Math.max(2, Math.round(longest / 10)));
  const [erase, setErase] = useState(false);
  const [strokes, setStrokes] = useState<Stroke[]>([]);
  const [share, setShare] = useState(0);
  const canvas = useRef<HTMLCanvasElement>(null);
  const current = useRef<Stroke | null>(null);
  const url = useMemo(() => URL.createObjectURL(image.file), [image.file]);
  useEffect(() => () => URL.revokeObjectURL(url), [url]);

  // A new start image starts a new mask.
  useEffect(() => {
    setStrokes([]);
  }, [image.file]);

  // The overlay shows every stroke; the mask follows it.
  useEffect(() => {
    const ctx = canvas.current?.getContext("2d");
    if (ctx) {
      ctx.clearRect(0, 0, width, height);
      for (const stroke of strokes) draw(ctx, stroke, OVERLAY, null);
    }
    if (!strokes.some((s) => !s.erase)) {
      setShare(0);
      onChange(null);
      return;
    }
    let stale = false;
    void toMask(strokes, width, height).then(({ file, share }) => {
      if (stale) return;
      setShare(share);
      onChange(share > 0 ? file : null);
    });
    return () => {
      stale = true;
    };
    // onChange is the form's setter; a new one each render must not repaint.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [strokes, width, height]);

  const at = (event: PointerEvent<HTMLCanvasElement>): [number, number] => {
    const box = event.currentTarget.getBoundingClientRect();
    return [((event.clientX - box.left) / box.width) * width, ((event.clientY - box.top) / box.height) * height];
  };
  const down = (event: PointerEvent<HTMLCanvasElement>) => {
    event.preventDefault();
    event.currentTarget.setPointerCapture(event.pointerId);
    current.current = { size: brush, erase, points: [at(event)] };
    const ctx = event.currentTarget.getContext("2d");
    if (ctx) draw(ctx, current.current, OVERLAY, null);
  };
  const move = (event: PointerEvent<HTMLCanvasElement>) => {
    const stroke = current.current;
    if (!stroke) return;
    const point = at(event);
    const ctx = event.currentTarget.getContext("2d");
    if (ctx) draw(ctx, { ...stroke, points: [stroke.points[stroke.points.length - 1], point] }, OVERLAY, null);
    stroke.points.push(point);
  };
  const up = () => {
    const stroke = current.current;
    current.current = null;
    if (stroke) setStrokes((s) => [...s, stroke]);
  };

  return (
    <div className="mask-painter">
      <div className="mask-canvas" style={{ aspectRatio: `${width} / ${height}` }}>
        <img src={url} alt="" width={width} height={height} />
        <canvas ref={canvas} width={width} height={height} role="img" data-testid="mask-canvas"
          aria-label={`Mask over the start image, ${Math.round(share * 100)}% painted`} aria-describedby={describedBy}
          onPointerDown={down} onPointerMove={move} onPointerUp={up} onPointerCancel={up} />
      </div>
      <div className="mask-tools">
        <div className="field">
          <label htmlFor="brush-size">Brush size</label>
          <div className="slider">
            <input id="brush-size" type="range" min={1} max={maxBrush} value={brush} onChange={(e) => setBrush(Number(e.target.value))} />
            <output htmlFor="brush-size">{brush} px</output>
          </div>
        </div>
        <label htmlFor="mask-erase">
          <input id="mask-erase" type="checkbox" role="switch" checked={erase} onChange={(e) => setErase(e.target.checked)} />
          Erase
        </label>
        <div className="mask-buttons">
          <button type="button" className="secondary outline small" disabled={strokes.length === 0} onClick={() => setStrokes((s) => s.slice(0, -1))}>
            Undo
          </button>
          <button type="button" className="secondary outline small" disabled={strokes.length === 0} onClick={() => setStrokes([])}>
            Clear mask
          </button>
          <button type="button" className="secondary outline small"
            onClick={() => setStrokes((s) => [...s, { size: longest * 3, erase: false, points: [[width / 2, height / 2]] }])}>
            Paint all
          </button>
        </div>
        <p className="small-print" data-testid="mask-share" aria-live="polite">
          {share > 0 ? `${Math.round(share * 100)}% of the image will be repainted.` : "Nothing painted yet."}
        </p>
      </div>
    </div>
  );
}
