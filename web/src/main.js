import "./style.css";
import { start } from "./app.js";

start(document.getElementById("app"));
